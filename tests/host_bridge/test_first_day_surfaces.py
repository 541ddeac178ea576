"""The command line's other first-day words (issue 34's polish): `send --help` names its options as what
they are, and `serve` says one line per finished job without --verbose."""

from __future__ import annotations

import re
import time
from pathlib import Path

from ..helpers.bridge_process import OscDump, oscsend, start_bridge
from ..helpers.cli import soundloom


def test_send_help_names_values_not_internal_destinations() -> None:
    shown = soundloom("send", "--help")
    assert shown.returncode == 0 and "OPT_" not in shown.stdout
    assert "--duration DURATION" in shown.stdout and "--bit-depth BIT_DEPTH" in shown.stdout


def test_serve_says_one_line_per_finished_job(tiny_checkpoint: Path, tmp_path: Path) -> None:
    bridge = start_bridge(tiny_checkpoint, tmp_path / "data")
    dump = OscDump()
    try:
        oscsend(bridge.port, "/soundloom/generate", "sssfsisi", "job-1", "rain", "duration", 0.3,
                "steps", 2, "reply_port", dump.port)  # fmt: skip
        dump.wait_for("/soundloom/done", "job-1")
        deadline = time.monotonic() + 10  # the line follows the reply: the watcher runs after it is sent
        while time.monotonic() < deadline and not any(" job-1 " in line for line in bridge.log):
            time.sleep(0.1)
    finally:
        dump.close()
        bridge.stop()
    log = "".join(bridge.log)
    done = [line for line in bridge.log if " job-1 " in line]
    assert len(done) == 1 and re.match(r"\d\d:\d\d:\d\d job-1 generate done: /.+\.wav\n", done[0]), log
    assert "soundloom.host_bridge" not in log  # the log's own lines stay in the log file (no --verbose)
