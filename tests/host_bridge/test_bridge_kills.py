"""A real `soundloom serve` killed mid-job and starved of disk (issue 22, defects 2, 6, 10): every accepted
job ends in exactly one terminal reply, no take twice, nothing partial; a full disk under the data folder
or under --out is refused with a reason while the bridge keeps answering, and it recovers when space
returns. benchmarks/bridge_kills.py runs the kills 100 times."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from soundloom.host_bridge.osc_codec import decode, encode

from ..helpers.bridge_process import start_bridge
from ..helpers.disk import fill, tmpfs
from ..helpers.kill_rounds import kill_rounds


@pytest.mark.parametrize("on_restart", ["fail", "rerun"])
def test_kill_9_at_random_points_leaves_one_terminal_reply_per_job(
    tiny_checkpoint, tmp_path, on_restart
) -> None:
    report = kill_rounds(tiny_checkpoint, tmp_path / "data", kills=3, on_restart=on_restart, seed=22)
    print("\n" + report.line())
    assert report.problems == []
    assert set(report.terminal_counts.values()) == {1} and len(report.terminal_counts) == 4


def ask(port: int, address: str, *args) -> list:
    """One request over UDP; its answer ([address, args...]): pong, done or error."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(60)
        client.sendto(encode(address, list(args)), ("127.0.0.1", port))
        while True:
            for reply, reply_args in decode(client.recv(65536)):
                if reply in ("/soundloom/pong", "/soundloom/done", "/soundloom/error"):
                    return [reply, *reply_args]


@pytest.mark.parametrize("where", ["data folder", "--out"])
def test_a_full_disk_is_refused_with_a_reason_and_the_bridge_recovers(
    tiny_checkpoint, tmp_path, where
) -> None:
    with tmpfs(tmp_path / "small", 24_000) as disk:
        data, flags = (
            (disk, ()) if where == "data folder" else (tmp_path / "data", ("--out", str(disk / "out")))
        )
        bridge = start_bridge(tiny_checkpoint, data, *flags)
        try:
            filler = fill(disk)
            refused = ask(bridge.port, "/soundloom/generate", "full", "rain", "steps", 2, "duration", 0.3)
            print(f"\nfull disk under the {where}: {refused}")
            assert refused[:3] == ["/soundloom/error", "full", "unavailable"], refused
            assert "No space left" in refused[3] or "KB free" in refused[3] or "disk is full" in refused[3]
            assert ask(bridge.port, "/soundloom/ping")[0] == "/soundloom/pong"
            filler.unlink()  # space returns
            done = ask(bridge.port, "/soundloom/generate", "after", "rain", "steps", 2, "duration", 0.3)
            assert done[:2] == ["/soundloom/done", "after"] and Path(done[2]).is_file()
            assert bridge.process.poll() is None
        finally:
            assert bridge.stop() == 0, "".join(bridge.log)
