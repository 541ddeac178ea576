"""Bridge overhead: request -> accepted latency, and request -> done minus the engine's own time.

Starts a real `soundloom serve` on loopback and sends generate requests one after another over UDP (the
next after the previous `done`). The engine time is the same request run in-process on the same model
(median of as many runs); what the bridge adds on top (parsing, planning, journal, queue, render, file
write, replies) is done latency minus that.

    python3 -m benchmarks.bench_bridge --model PATH_OR_ID [--count 200] [--duration 1.0] [--steps 2]

Without --model it builds the tests' tiny random checkpoint, so the figures are about the bridge, not
the model.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def engine_seconds(model: str, count: int, duration: float, steps: int) -> list[float]:
    from soundloom.engine import GenerationRequest
    from soundloom.engine.loader import load_model

    pipeline = load_model(model, device="cpu")
    request = GenerationRequest("bench tick", duration_s=duration, steps=steps, seed=1)
    pipeline.generate(request)  # warm-up
    times = []
    for _ in range(count):
        started = time.perf_counter()
        pipeline.generate(request)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    from soundloom.host_bridge.osc_codec import decode, encode

    work = Path(tempfile.mkdtemp(prefix="soundloom-bench-bridge-"))
    model = args.model
    if model is None:
        from tests.helpers.reference_checkpoint import build_checkpoint

        model = str(build_checkpoint(work / "tiny-audioldm"))
    engine = engine_seconds(model, args.count, args.duration, args.steps)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["soundloom", "serve", "--model", model, "--osc-port", str(port), "--device", "cpu", "--no-tcp"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SOUNDLOOM_DATA_DIR": str(work / "data")},
    )
    ready = threading.Event()
    threading.Thread(
        target=lambda: [ready.set() for line in server.stderr if "ready" in line], daemon=True
    ).start()
    if not ready.wait(300):
        server.kill()
        raise SystemExit("the bridge did not start")
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.connect(("127.0.0.1", port))
    client.settimeout(60)
    accepted, done = [], []
    try:
        for i in range(args.count + 1):
            request_id = f"bench-{i}"
            options = ["duration", args.duration, "steps", args.steps, "seed", 1]
            started = time.perf_counter()
            client.send(encode("/soundloom/generate", [request_id, "bench tick", *options]))
            got_accepted = None
            while True:
                for address, reply in decode(client.recv(65536)):
                    if reply[:1] != [request_id]:
                        continue
                    if address == "/soundloom/accepted":
                        got_accepted = time.perf_counter() - started
                    elif address == "/soundloom/error":
                        raise SystemExit(f"error: {reply}")
                    elif address == "/soundloom/done":
                        if i:  # the first request warms the bridge's worker
                            accepted.append(got_accepted)
                            done.append(time.perf_counter() - started)
                        break
                else:
                    continue
                break
    finally:
        server.terminate()
        server.wait(30)
    engine_median = statistics.median(engine)
    overhead = [seconds - engine_median for seconds in done]
    print(f"model {model}; {args.count} generate requests, {args.duration:g} s, {args.steps} steps, over UDP")
    for label, values in (
        ("engine alone", engine),
        ("request -> accepted", accepted),
        ("request -> done", done),
        ("done minus engine", overhead),
    ):
        median, p99 = statistics.median(values) * 1e3, percentile(values, 0.99) * 1e3
        print(f"{label:<22} median {median:8.2f} ms   p99 {p99:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
