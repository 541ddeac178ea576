"""Issue 22's reliability figures for one running `soundloom serve`: malformed UDP packets, TCP messages
and spool files at once, a ping every 50 ms throughout, resident memory and threads sampled; then a
1,000-request burst with every reply counted, and the bridge checked on every transport.

    python3 -m benchmarks.bridge_fuzz [--udp 100000] [--tcp 100000] [--spool 10000] [--seed 22]

It builds the tests' tiny random checkpoint: the figures are about the bridge, not the model.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.synchronize
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from soundloom.host_bridge.osc_codec import decode, encode, slip_encode

from tests.helpers.bridge_process import start_bridge
from tests.helpers.fuzz import fuzz_packets, fuzz_spool_file, fuzz_stream
from tests.helpers.reference_checkpoint import build_checkpoint

PING_EVERY_S = 0.05
PING_TIMEOUT_S = 2.0


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def kernel_udp_drops(port: int) -> int:
    """Datagrams the kernel dropped at the UDP socket bound to `port` (its receive buffer was full)."""
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            return int(fields[-1])
    return 0


def threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def probe(port: int, stop: multiprocessing.synchronize.Event, results: multiprocessing.Queue) -> None:
    """Ping over UDP every 50 ms from a process of its own (the attackers' threads must not delay the
    measuring); report each round trip, None for no pong within 2 s."""
    latencies: list[float | None] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(PING_TIMEOUT_S)
        while not stop.wait(PING_EVERY_S):
            sent = time.perf_counter()
            sock.sendto(encode("/soundloom/ping", []), ("127.0.0.1", port))
            try:
                while decode(sock.recv(65536))[0][0] != "/soundloom/pong":
                    pass
                latencies.append(time.perf_counter() - sent)
            except TimeoutError:
                latencies.append(None)
    results.put(latencies)


def udp_attack(port: int, count: int, seed: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for index, packet in enumerate(fuzz_packets(count, seed)):
            sock.sendto(packet, ("127.0.0.1", port))
            if index % 500 == 499:
                time.sleep(0.005)  # pace: the count should measure the bridge, not the kernel's drops


def tcp_attack(port: int, count: int, seed: int, connections: int = 200) -> None:
    for n in range(connections):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(fuzz_stream(count // connections, seed + n))
        except OSError:
            pass  # closed on us for a bad frame: that is the bridge's answer


def spool_attack(requests: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(count):
        fuzz_spool_file(requests, f"fuzz-{n}", rng)
        if n % 200 == 199:
            time.sleep(0.01)


def burst(port: int, count: int = 1000) -> dict[str, int]:
    """`count` generate requests at once: every one must be answered, accepted or busy."""
    answers: dict[str, str] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for n in range(count):
            request = [f"burst-{n}", "tick", "steps", 1, "duration", 0.1, "priority", "batch"]
            sock.sendto(encode("/soundloom/generate", request), ("127.0.0.1", port))
        sock.settimeout(10)
        try:
            while len(answers) < count:
                for address, args in decode(sock.recv(65536)):
                    if address in ("/soundloom/accepted", "/soundloom/error") and args[0] not in answers:
                        answers[args[0]] = "accepted" if address.endswith("accepted") else args[1]
        except TimeoutError:
            pass
        for request_id in [request_id for request_id, answer in answers.items() if answer == "accepted"]:
            sock.sendto(encode("/soundloom/cancel", [request_id]), ("127.0.0.1", port))
    kinds: dict[str, int] = {"lost": count - len(answers)}
    for answer in answers.values():
        kinds[answer] = kinds.get(answer, 0) + 1
    return kinds


def still_serves(port: int, spool: Path) -> dict[str, bool]:
    checks = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(60)
        sock.sendto(
            encode("/soundloom/generate", ["after", "rain", "steps", 2, "duration", 0.3]), ("127.0.0.1", port)
        )
        replies = []
        while not any(address in ("/soundloom/done", "/soundloom/error") for address, _ in replies):
            replies += decode(sock.recv(65536))
        checks["udp job done"] = replies[-1][0] == "/soundloom/done"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(slip_encode(encode("/soundloom/ping", [])))
        checks["tcp ping"] = b"/soundloom/pong" in sock.recv(4096)
    (spool / "requests" / ".last.part").write_text(json.dumps(["/soundloom/ping"]))
    (spool / "requests" / ".last.part").rename(spool / "requests" / "last.json")
    deadline = time.monotonic() + 60
    while not (spool / "replies" / "last.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    checks["spool ping"] = "pong" in (spool / "replies" / "last.json").read_text()
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--udp", type=int, default=100_000)
    parser.add_argument("--tcp", type=int, default=100_000)
    parser.add_argument("--spool", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="soundloom-fuzz-"))
    bridge = start_bridge(build_checkpoint(work / "tiny-audioldm"), work / "data")
    pid = bridge.process.pid
    threads_before, resident, drops_before = threads(pid), [resident_mb(pid)], kernel_udp_drops(bridge.port)
    stop_probing, probed = multiprocessing.Event(), multiprocessing.Queue()
    prober = multiprocessing.Process(target=probe, args=(bridge.port, stop_probing, probed))
    prober.start()  # before any thread of ours: it forks
    attacks = [
        threading.Thread(target=udp_attack, args=(bridge.port, args.udp, args.seed)),
        threading.Thread(target=tcp_attack, args=(bridge.port, args.tcp, args.seed)),
        threading.Thread(target=spool_attack, args=(bridge.spool / "requests", args.spool, args.seed)),
    ]
    started = time.monotonic()
    for attack in attacks:
        attack.start()
    while any(attack.is_alive() for attack in attacks) or any((bridge.spool / "requests").glob("*.json")):
        resident.append(resident_mb(pid))
        time.sleep(0.2)
        if time.monotonic() - started > 1800:
            break
    attack_s = time.monotonic() - started
    kernel_drops = kernel_udp_drops(bridge.port) - drops_before
    stop_probing.set()
    latencies = probed.get()
    prober.join()
    answered = [latency for latency in latencies if latency is not None]
    bursts = burst(bridge.port)
    checks = still_serves(bridge.port, bridge.spool)
    alive = bridge.process.poll() is None
    threads_after = threads(pid) if alive else 0
    bridge.stop()
    tracebacks = sum("Traceback" in line for line in bridge.log)
    print(
        f"fuzz: {args.udp} UDP packets, {args.tcp} TCP messages, {args.spool} spool files in {attack_s:.0f} s"
    )
    print(f"  bridge alive: {alive}; tracebacks on stderr: {tracebacks}; checks after: {checks}")
    print(f"  threads: {threads_before} before, {threads_after} after")
    print(f"  resident: {resident[0]:.0f} MB at start, peak {max(resident):.0f} MB")
    print(f"  pings: {len(latencies)} sent every {PING_EVERY_S * 1000:.0f} ms, "
          f"{len(latencies) - len(answered)} unanswered in {PING_TIMEOUT_S:g} s; round trip median "
          f"{statistics.median(answered) * 1000:.1f} ms, max {max(answered) * 1000:.1f} ms, "
          f"over 100 ms: {sum(latency > 0.1 for latency in answered)}")  # fmt: skip
    print(f"  datagrams the kernel dropped at the bridge's UDP socket (its buffer full): {kernel_drops}")
    print(f"  1,000-request burst: {bursts}")
    ok = alive and all(checks.values()) and bursts["lost"] == 0 and len(answered) == len(latencies)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
