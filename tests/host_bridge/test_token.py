"""The bridge's shared secret (`serve --token-file`), through a real `soundloom serve` and liblo's
oscsend/oscdump: requests without it are refused as `unauthorized` and nothing runs; with it, everything
works as before; the secret is never journaled; and no bridge listens beyond loopback without one unless
told `--insecure`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ..helpers.bridge_process import OscDump, free_port, oscsend, start_bridge, write_token
from ..helpers.cli import soundloom

TOKEN = "s3cret-shared-by-the-studio-2026"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return write_token(tmp_path / "token", TOKEN)


def test_requests_without_the_token_are_unauthorized_and_run_nothing(
    tiny_checkpoint: Path, tmp_path: Path, token_file: Path
) -> None:
    bridge = start_bridge(tiny_checkpoint, tmp_path / "data", "--token-file", str(token_file))
    dump = OscDump()
    try:
        port, reply = bridge.port, ("reply_port", dump.port)
        oscsend(port, "/soundloom/generate", "sssfsi", "no-token", "rain", "duration", 0.3, *reply)
        oscsend(
            port,
            "/soundloom/generate",
            "sssfsiss",
            "bad-token",
            "rain",
            "duration",
            0.3,
            *reply,
            "token",
            "guess-guess-guess",
        )
        oscsend(port, "/soundloom/ping", "si", *reply)
        assert dump.wait_for("/soundloom/error", "no-token")[3:] == [
            "unauthorized",
            "this bridge needs its token: add the pair token SECRET",
        ]
        assert dump.wait_for("/soundloom/error", "bad-token")[3] == "unauthorized"
        assert dump.wait_for("/soundloom/error", "")[3] == "unauthorized"  # a ping names no request
        oscsend(
            port, "/soundloom/generate", "sssfsiss", "good", "rain", "duration", 0.3, *reply, "token", TOKEN
        )
        oscsend(port, "/soundloom/ping", "siss", *reply, "token", TOKEN)
        dump.wait_for("/soundloom/pong")
        assert Path(dump.wait_for("/soundloom/done", "good")[3]).is_file()
        time.sleep(0.3)
        assert not dump.replies("no-token")[1:] and not dump.replies("bad-token")[1:], "only the refusal"
        assert [path.name for path in bridge.output.glob("rain*.wav")] == [
            Path(dump.wait_for("/soundloom/done", "good")[3]).name
        ]
        assert TOKEN.encode() not in (tmp_path / "data" / "jobs.sqlite").read_bytes()
        assert TOKEN not in (tmp_path / "data" / "soundloom.log").read_text()
    finally:
        dump.close()
        bridge.stop()


def test_the_send_command_carries_the_token(tiny_checkpoint: Path, tmp_path: Path, token_file: Path) -> None:
    bridge = start_bridge(tiny_checkpoint, tmp_path / "data", "--token-file", str(token_file))
    try:
        refused = soundloom("send", "ping", "--port", bridge.port)
        assert refused.returncode == 1 and "unauthorized" in refused.stderr
        made = soundloom(
            "send",
            "generate",
            "wind",
            "--port",
            bridge.port,
            "--duration",
            "0.3",
            "--steps",
            "2",
            "--wait",
            "--token-file",
            token_file,
        )
        assert made.returncode == 0, made.stderr
        assert Path(made.stdout.split()[-1]).is_file()
    finally:
        bridge.stop()


def test_no_bridge_listens_beyond_loopback_without_a_token_unless_told_insecure(
    tiny_checkpoint: Path, tmp_path: Path, token_file: Path
) -> None:
    open_bind = soundloom(
        "serve",
        "--model",
        tiny_checkpoint,
        "--host",
        "0.0.0.0",
        "--osc-port",
        free_port(),
        env={"SOUNDLOOM_DATA_DIR": str(tmp_path / "a")},
    )
    assert open_bind.returncode == 2
    assert open_bind.stderr.strip().splitlines()[-1] == (
        "soundloom: error: listening on 0.0.0.0 lets other machines run jobs: give --token-file (a shared "
        "secret every request must carry), or --insecure to listen without one"
    )
    short = tmp_path / "short"
    short.write_text("abc\n")
    too_short = soundloom(
        "serve", "--model", tiny_checkpoint, "--token-file", short, "--osc-port", free_port()
    )
    assert too_short.returncode == 2 and "the token is 3 characters; use 16 or more" in too_short.stderr
    for flags in (("--token-file", str(token_file)), ("--insecure",)):
        bridge = start_bridge(tiny_checkpoint, tmp_path / flags[0].strip("-"), "--host", "0.0.0.0", *flags)
        assert bridge.process.poll() is None
        bridge.stop()
