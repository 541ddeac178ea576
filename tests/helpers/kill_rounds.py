"""`kill -9` at random points of running jobs on a real `soundloom serve`, and what must hold after the
restarts: every accepted job ended in exactly one terminal reply (`done` or `error`), no take exists
twice or without its job, no `.part` file is left, the journal holds nothing unfinished or unreported.

Used by tests/host_bridge/test_bridge_kills.py (a few rounds) and benchmarks/bridge_kills.py (100).
"""

from __future__ import annotations

import random
import signal
import socket
import sqlite3
import threading
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from soundloom.host_bridge.delivery.provenance import read_file_provenance
from soundloom.host_bridge.osc_codec import decode, encode

from .bridge_process import BridgeProcess, free_port, start_bridge

# A job with several takes and dry takes, so kills land in sampling and between files alike.
JOB = ["steps", 6, "duration", 0.5, "variations", 3, "rate", 48000]
TERMINAL = ("/soundloom/done", "/soundloom/error")


class Listener:
    """A UDP socket collecting every reply, by request id."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.replies: dict[str, list[tuple[str, list]]] = defaultdict(list)
        self._changed = threading.Condition()
        self._stop = threading.Event()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                messages = decode(self.sock.recv(65536))
            except (TimeoutError, ValueError):
                continue
            except OSError:  # closed
                return
            with self._changed:
                for address, args in messages:
                    if args and isinstance(args[0], str):
                        self.replies[args[0]].append((address, args))
                self._changed.notify_all()

    def wait(self, request_id: str, addresses: tuple[str, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(address in addresses for address, _ in self.replies[request_id]):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def terminal(self, request_id: str) -> list[tuple[str, list]]:
        with self._changed:
            return [(address, args) for address, args in self.replies[request_id] if address in TERMINAL]

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@dataclass
class KillReport:
    on_restart: str
    kills: int = 0
    job_s: float = 0.0
    terminal_counts: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # request id -> done or the error code
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        kinds = defaultdict(int)
        for outcome in self.outcomes.values():
            kinds[outcome] += 1
        counts = sorted(set(self.terminal_counts.values()))
        return (
            f"kill -9 x {self.kills}, --on-restart {self.on_restart}: terminal replies per job {counts}, "
            f"outcomes {dict(kinds)}, problems {len(self.problems)}"
        )


def kill_rounds(model: Path, data: Path, kills: int, on_restart: str, seed: int) -> KillReport:
    """Run `kills` jobs, each killed at a random point of its run, restarting after each."""
    rng = random.Random(seed)
    report = KillReport(on_restart)
    listener, port = Listener(), free_port()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flags = ("--on-restart", on_restart)
    bridge = start_bridge(model, data, *flags, port=port)
    ids: list[str] = []

    def send(request_id: str) -> None:
        ids.append(request_id)
        message = [request_id, "rain on a tin roof", *JOB, "reply_port", listener.port]
        sender.sendto(encode("/soundloom/generate", message), ("127.0.0.1", port))
        if not listener.wait(request_id, ("/soundloom/accepted", *TERMINAL), 60):
            report.problems.append(f"{request_id}: no answer to the request")

    try:
        started = time.monotonic()
        send(f"{on_restart}-calibrate")  # how long one job runs, unkilled
        listener.wait(ids[-1], TERMINAL, 120)
        report.job_s = time.monotonic() - started
        for n in range(kills):
            send(f"{on_restart}-{n}")
            time.sleep(rng.uniform(0, 1.2 * report.job_s))
            bridge.stop(signal.SIGKILL)
            report.kills += 1
            bridge = start_bridge(model, data, *flags, port=port)
        for request_id in ids:  # reruns finish; reported failures came at the restart
            if not listener.wait(request_id, TERMINAL, 120):
                report.problems.append(f"{request_id}: no terminal reply")
        time.sleep(0.5)  # a duplicate terminal reply would arrive now
    finally:
        bridge.stop(signal.SIGTERM)
        listener.close()
        sender.close()
    _check(report, listener, ids, bridge, data)
    return report


def _check(report: KillReport, listener: Listener, ids: list[str], bridge: BridgeProcess, data: Path) -> None:
    delivered: set[Path] = set()
    for request_id in ids:
        terminal = listener.terminal(request_id)
        report.terminal_counts[request_id] = len(terminal)
        if len(terminal) != 1:
            report.problems.append(f"{request_id}: {len(terminal)} terminal replies {terminal}")
        if not terminal:
            continue
        address, args = terminal[0]
        report.outcomes[request_id] = "done" if address == "/soundloom/done" else args[1]
        if address == "/soundloom/done":
            delivered.update(Path(path) for path in args[1:])
    takes = {path for path in bridge.output.glob("*.wav")}
    if takes != delivered:
        report.problems.append(f"takes not matching the done replies: orphans {takes - delivered}, "
                               f"missing {delivered - takes}")  # fmt: skip
    dry = set((bridge.output / "dry").glob("*.wav")) if (bridge.output / "dry").is_dir() else set()
    wanted_dry = {take.parent / read_file_provenance(take).dry_file for take in delivered if take.exists()}
    if dry != wanted_dry:
        report.problems.append(f"dry takes: orphans {dry - wanted_dry}, missing {wanted_dry - dry}")
    parts = list(bridge.output.rglob("*.part"))
    if parts:
        report.problems.append(f"partial files left: {parts}")
    with closing(sqlite3.connect(data / "jobs.sqlite")) as journal:
        open_rows = journal.execute(
            "SELECT request_id, state, reported FROM jobs "
            "WHERE state IN ('queued', 'running') OR reported = 0"
        ).fetchall()
    if open_rows:
        report.problems.append(f"journal rows left open: {open_rows}")
