"""The spool folder under whatever lands in it: deep nesting, FIFOs, symlinks to /dev/zero, huge files,
folders, planted and stale replies, lone surrogates; and a restart that finds a corrupt replies file
(issue 22, defects 3, 4, 7, 12). A real SpoolWatcher on a real folder, the runner double behind it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from soundloom.host_bridge.osc import job as states
from soundloom.host_bridge.osc.bridge import Bridge
from soundloom.host_bridge.osc.journal import Journal
from soundloom.host_bridge.osc.protocol import PREFIX
from soundloom.host_bridge.osc.spool import RETENTION_S, SpoolWatcher

from ..helpers.bridge_doubles import RunnerDouble


@pytest.fixture
def spool(tmp_path: Path):
    journal = Journal(tmp_path / "jobs.sqlite")
    bridge = Bridge(RunnerDouble(), journal, 4)
    bridge.start()
    watcher = SpoolWatcher(tmp_path / "spool", bridge.handle, interval_s=0.02)
    watcher.start()
    yield watcher
    watcher.stop()
    bridge.stop()
    journal.close()


def request(watcher: SpoolWatcher, name: str, text: str | bytes) -> None:
    temporary = watcher.requests / f".{name}.part"
    temporary.write_bytes(text.encode() if isinstance(text, str) else text)
    temporary.rename(watcher.requests / f"{name}.json")


def replies(watcher: SpoolWatcher, name: str, until: str, timeout: float = 10) -> list[list]:
    """The replies file once it holds a reply to `until` (error, done, pong, ...)."""
    path = watcher.replies / f"{name}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = json.loads(path.read_text())
            if any(reply[0] == PREFIX + until for reply in found):
                return found
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"no {until} in {path} within {timeout} s")


def still_serves(watcher: SpoolWatcher, name: str) -> None:
    request(watcher, name, json.dumps([PREFIX + "ping"]))
    replies(watcher, name, "pong")


HOSTILE = {
    "nested": lambda path: path.write_text("[" * 1000 + "]" * 1000),  # ~2 KB: RecursionError before
    "fifo": lambda path: os.mkfifo(path),  # opening it for reading blocked for ever
    "zero": lambda path: path.symlink_to("/dev/zero"),  # read without end
    "huge": lambda path: (path.write_bytes(b"["), os.truncate(path, 2**30)),  # 1 GB (sparse), read whole
    "folder": lambda path: path.mkdir(),
    "broken-json": lambda path: path.write_text('["/soundloom/ping", '),
    "not-utf8": lambda path: path.write_bytes(b'["\xff\xfe"]'),
    "nan": lambda path: path.write_text('["/soundloom/generate", "n", "rain", "steps", NaN]'),
    "object-argument": lambda path: path.write_text('["/soundloom/generate", "o", "rain", {"steps": 4}]'),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_request_is_moved_aside_answered_and_the_watcher_serves_on(spool, kind: str) -> None:
    HOSTILE[kind](spool.requests / f"{kind}.json")
    error = replies(spool, kind, "error")
    assert error[-1][2] == "bad_message" and error[-1][3].startswith(f"{kind}.json: ")
    assert not os.path.lexists(spool.requests / f"{kind}.json")
    assert [path.name.split("-", 1)[1] for path in spool.rejected.iterdir()] == [f"{kind}.json"]
    still_serves(spool, f"after-{kind}")
    assert spool._thread.is_alive()


def test_whole_json_numbers_are_integers_and_lone_surrogates_are_refused(spool) -> None:
    request(spool, "steps-4.0", '["/soundloom/generate", "w1", "rain", "steps", 4.0, "duration", 1]')
    assert replies(spool, "steps-4.0", "done")[0] == [PREFIX + "accepted", "w1", 0]
    request(spool, "surrogate", '["/soundloom/generate", "w2", "rain \\ud800 on a roof"]')
    error = replies(spool, "surrogate", "error")[-1]
    assert error[1:3] == ["w2", "bad_value"] and "unpaired UTF-16 surrogate" in error[3]


def test_a_planted_reply_is_replaced_and_a_reused_name_refused(spool) -> None:
    """Defect 7: replies were appended to whatever was there, so a planted `done` was read first."""
    planted = [[PREFIX + "done", "p1", "/etc/passwd"]]
    (spool.replies / "p1.json").write_text(json.dumps(planted))
    request(spool, "p1", json.dumps([PREFIX + "generate", "p1", "rain"]))
    refused = replies(spool, "p1", "error")
    assert refused == [[PREFIX + "error", "", "duplicate_id", refused[0][3]]]
    assert "used once" in refused[0][3]
    request(spool, "p2", json.dumps([PREFIX + "generate", "p2", "rain"]))
    names = [reply[0] for reply in replies(spool, "p2", "done")]
    assert names == [PREFIX + name for name in ("accepted", "progress", "progress", "result", "done")]


def test_old_replies_and_rejected_requests_are_cleaned(tmp_path: Path) -> None:
    """Defect 7: the replies folder was never cleaned (3,000 files stayed)."""
    spool = SpoolWatcher(tmp_path / "spool", lambda *message: None)  # not started: cleaned here only
    old = time.time() - RETENTION_S - 60
    for n in range(3000):
        path = spool.replies / f"old-{n}.json"
        path.write_text("[]")
        os.utime(path, (old, old))
    (spool.rejected / "1-old.json").write_text("x")
    os.utime(spool.rejected / "1-old.json", (old, old))
    (spool.replies / "fresh.json").write_text("[]")
    assert spool.clean() == 3001
    assert [path.name for path in spool.replies.iterdir()] == ["fresh.json"]


def test_a_corrupt_replies_file_of_an_unfinished_job_does_not_stop_the_start(tmp_path: Path) -> None:
    """Defect 4: recovery raised on it, so `serve` refused to start, on every restart."""
    journal = Journal(tmp_path / "jobs.sqlite")
    replies_path = tmp_path / "spool" / "replies" / "r1.json"
    replies_path.parent.mkdir(parents=True)
    job_id = journal.add("r1", [PREFIX + "generate", "r1", "rain"], {"spool": str(replies_path)})
    journal.set_state(job_id, states.RUNNING)
    replies_path.write_text('[["/soundloom/accepted", "r1", 0], ["/soundloom/prog')  # killed mid-write
    bridge = Bridge(RunnerDouble(), journal, 4)
    bridge.start("fail")
    bridge.stop()
    [error] = json.loads(replies_path.read_text())
    assert error[:3] == [PREFIX + "error", "r1", "interrupted"]
    assert journal.entry(job_id).state == states.FAILED
    journal.close()


def test_the_restart_answers_a_spool_job_exactly_once(tmp_path: Path) -> None:
    """A job whose `done` reached the file but whose `reported` mark did not: not sent twice."""
    journal = Journal(tmp_path / "jobs.sqlite")
    replies_path = tmp_path / "r2.json"
    job_id = journal.add("r2", [PREFIX + "generate", "r2", "rain"], {"spool": str(replies_path)})
    journal.set_state(job_id, states.DONE, "/out/r2.wav", results=[["/out/r2.wav", 1.0, 48000, 7]])
    replies_path.write_text(
        json.dumps([[PREFIX + "accepted", "r2", 0], [PREFIX + "done", "r2", "/out/r2.wav"]])
    )
    bridge = Bridge(RunnerDouble(), journal, 4)
    bridge.start()
    bridge.stop()
    assert [reply[0] for reply in json.loads(replies_path.read_text())] == [
        PREFIX + "accepted",
        PREFIX + "done",
    ]
    assert journal.unreported() == []
    journal.close()
