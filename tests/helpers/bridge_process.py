"""A real `soundloom serve` process and liblo's `oscsend`/`oscdump` around it, for the bridge tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SOUNDLOOM = shutil.which("soundloom") or pytest.fail("the soundloom console script is not installed")
OSCSEND = shutil.which("oscsend") or pytest.fail("oscsend missing: apt-get install liblo-tools")
OSCDUMP = shutil.which("oscdump") or pytest.fail("oscdump missing: apt-get install liblo-tools")


def free_port() -> int:
    """A port free for both UDP and TCP on loopback."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


@dataclass
class BridgeProcess:
    process: subprocess.Popen
    port: int
    data: Path
    output: Path
    media: Path
    log: list[str] = field(default_factory=list)

    @property
    def spool(self) -> Path:
        return self.data / "spool"

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(20)


def start_bridge(model: Path, data: Path, *flags: str, port: int | None = None) -> BridgeProcess:
    """Start `soundloom serve` and wait until it says it is ready."""
    port = port or free_port()
    media = data / "media"
    media.mkdir(parents=True, exist_ok=True)
    output = data / "output"
    process = subprocess.Popen(
        [SOUNDLOOM, "serve", "--model", str(model), "--osc-port", str(port), "--root", str(media), *flags],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "SOUNDLOOM_DATA_DIR": str(data)},
    )
    bridge = BridgeProcess(process, port, data, output, media)
    ready = threading.Event()

    def read_log() -> None:
        for line in process.stderr:
            bridge.log.append(line)
            if "bridge ready" in line:
                ready.set()

    threading.Thread(target=read_log, daemon=True).start()
    deadline = time.monotonic() + 60
    while not ready.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the bridge did not start:\n" + "".join(bridge.log))
    return bridge


def oscsend(port: int, address: str, types: str = "", *values: object, tcp: bool = False) -> None:
    target = f"osc.tcp://127.0.0.1:{port}" if tcp else f"osc.udp://127.0.0.1:{port}"
    run = subprocess.run(
        [OSCSEND, target, address, types, *map(str, values)], capture_output=True, text=True, timeout=10
    )
    assert run.returncode == 0, run.stderr


class OscDump:
    """`oscdump -L PORT` in the background; its lines, parsed loosely: (address, [args as text])."""

    def __init__(self, port: int | None = None, tcp: bool = False):
        self.port = port or free_port()
        url = f"osc.tcp://:{self.port}" if tcp else str(self.port)
        self.process = subprocess.Popen([OSCDUMP, "-L", url], stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.2)  # let it bind

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, address: str, request_id: str | None = None, timeout: float = 60) -> list[str]:
        """The first reply line to `address` (for `request_id`), split into [address, types, args...]."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    fields = parse_dump(line)
                    if fields[0] == address and (request_id is None or fields[2:3] == [request_id]):
                        return fields
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {address} for {request_id} within {timeout} s; got:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(left)

    def replies(self, request_id: str) -> list[list[str]]:
        with self._changed:
            return [fields for line in self.lines if (fields := parse_dump(line))[2:3] == [request_id]]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def parse_dump(line: str) -> list[str]:
    """oscdump's `TIMETAG ADDRESS TYPES ARG ...` with "quoted" strings -> [ADDRESS, TYPES, ARG ...]."""
    import shlex

    try:
        fields = shlex.split(line)
    except ValueError:
        fields = line.split()
    return fields[1:] if fields and not fields[0].startswith("/") else fields


def write_token(path: Path, token: str) -> Path:
    """A `serve --token-file` file: the secret on its first line, readable by its owner only."""
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path
