"""The bridge's parts in one process, without sockets or a model: the protocol's checks, the journal, the
job queue and the bridge's replies, with a runner double that records what it is asked. The end-to-end
tests (test_bridge_osc.py) run the same parts through real UDP, TCP and a real `soundloom serve`."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from soundloom.engine.errors import EngineError
from soundloom.host_bridge.osc import job as states
from soundloom.host_bridge.osc.bridge import Bridge
from soundloom.host_bridge.osc.job import JobDone, JobFailed, JobProgress, JobQueued
from soundloom.host_bridge.osc.job_queue import JobQueue
from soundloom.host_bridge.osc.journal import Journal
from soundloom.host_bridge.osc.protocol import PREFIX, ProtocolError, parse
from soundloom.host_bridge.osc.reply_record import LOCAL, TCP, ReplyRecord

from ..helpers.bridge_doubles import Replies, RunnerDouble, wait_for


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    journal = Journal(tmp_path / "jobs.sqlite")
    yield journal
    journal.close()


def make_bridge(journal: Journal, runner: RunnerDouble, capacity: int = 4) -> Bridge:
    bridge = Bridge(runner, journal, capacity)
    bridge.start()
    return bridge


def test_protocol_refuses_what_the_engine_refuses_before_anything_is_queued() -> None:
    with pytest.raises(ProtocolError) as refused:
        parse(PREFIX + "generate", ["r1", "rain", "guidance", 31.0])
    assert (refused.value.code, refused.value.message) == (
        "bad_value",
        "guidance must be between 0 and 30, got 31.0",
    )
    with pytest.raises(ProtocolError, match=r"sampler must be one of dpm\+\+, ddim"):
        parse(PREFIX + "generate", ["r1", "rain", "sampler", "heun"])
    with pytest.raises(ProtocolError, match=r"duration must be between 0\.04 and 60"):
        parse(PREFIX + "generate", ["r1", "rain", "duration", 0.0])
    command = parse(PREFIX + "generate", ["r1", "rain", "guidance", 30.0, "duration", 0.04, "steps", 1000])
    assert command.options == {"guidance": 30.0, "duration": 0.04, "steps": 1000}
    assert parse(*command.to_message()) == command  # journaled jobs parse back to the same command


def test_the_journal_keeps_unfinished_jobs_for_the_next_start(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "jobs.sqlite")
    first = journal.add("a", [PREFIX + "generate", "a", "rain"], {"udp": ["127.0.0.1", 9]})
    second = journal.add("b", [PREFIX + "generate", "b", "wind"], {})
    journal.set_state(first, states.RUNNING)
    journal.set_state(second, states.DONE, "/out/b.wav")
    journal.close()
    reopened = Journal(tmp_path / "jobs.sqlite")
    [left] = reopened.unfinished()
    assert (left.request_id, left.state, left.reply) == ("a", states.RUNNING, {"udp": ["127.0.0.1", 9]})
    assert reopened.latest("b").detail == "/out/b.wav"
    reopened.close()


def test_the_queue_announces_typed_events_in_order_and_journals_each_state(journal: Journal) -> None:
    events = []
    queue = JobQueue(RunnerDouble().run, events.append, journal)
    queue.start()
    job = queue.submit(parse(PREFIX + "generate", ["j1", "rain"]), None, ReplyRecord(TCP))
    wait_for(lambda: events and isinstance(events[-1], JobDone))
    queue.stop()
    assert [type(event) for event in events] == [JobProgress, JobProgress, JobDone]
    assert [event.fraction for event in events[:2]] == [0.5, 1.0]
    assert events[-1].results[0].path == "/out/j1.wav"
    assert journal.entry(job.job_id).state == states.DONE


def test_a_failed_job_gives_its_reason_and_logs_the_traceback(journal: Journal, caplog) -> None:
    events = []
    queue = JobQueue(RunnerDouble(fail_with=KeyError("vae")).run, events.append, journal)
    queue.start()
    job = queue.submit(parse(PREFIX + "generate", ["j2", "rain"]), None, ReplyRecord(TCP))
    wait_for(lambda: events and isinstance(events[-1], JobFailed))
    queue.stop()
    failed = events[-1]
    assert (failed.code, failed.state, failed.message) == ("failed", states.FAILED, "KeyError: 'vae'")
    assert journal.entry(job.job_id).detail == "KeyError: 'vae'"
    [record] = [r for r in caplog.records if "j2" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is KeyError  # the trace is in the log


def test_an_engine_error_is_one_line_for_people(journal: Journal) -> None:
    events = []
    queue = JobQueue(RunnerDouble(fail_with=EngineError("the VAE is missing")).run, events.append, journal)
    queue.start()
    queue.submit(parse(PREFIX + "generate", ["j3", "rain"]), None, ReplyRecord(TCP))
    wait_for(lambda: events and isinstance(events[-1], JobFailed))
    queue.stop()
    assert events[-1].message == "the VAE is missing"


def test_the_bridge_replies_and_tells_its_watchers(journal: Journal) -> None:
    bridge = make_bridge(journal, RunnerDouble())
    watched, replies = [], Replies()
    bridge.watchers.append(watched.append)
    bridge.handle(PREFIX + "generate", ["b1", "rain"], replies)
    wait_for(lambda: "done" in replies.names())
    bridge.stop()
    assert replies.names() == ["accepted", "progress", "progress", "result", "done"]
    assert replies.sent[-1][1] == ["b1", "/out/b1.wav"]
    assert [type(event) for event in watched] == [JobQueued, JobProgress, JobProgress, JobDone]
    assert watched[0].reply_record == ReplyRecord(LOCAL, "test")
    assert bridge.latest_takes() == ["/out/b1.wav"]


def test_the_host_a_request_came_from_is_recorded_and_journaled(journal: Journal) -> None:
    """Ardour's spool requests were labelled "REAPER (spool)" in the app: the host is the id's."""
    bridge = make_bridge(journal, RunnerDouble())
    watched, replies = [], Replies()
    bridge.watchers.append(watched.append)
    bridge.handle(PREFIX + "generate", ["ardour-1765100000-123456-654321", "rain"], replies)
    wait_for(lambda: "done" in replies.names())
    bridge.stop()
    assert watched[0].reply_record == ReplyRecord(LOCAL, "test", host="Ardour")
    assert (
        watched[0].reply_record.label() == "test"
    )  # a local target says itself; a spool one "Ardour (spool)"
    entry = journal.latest("ardour-1765100000-123456-654321")
    assert entry is not None and entry.reply == {"origin": "test", "host": "Ardour"}


def test_the_bridge_refuses_with_a_code_and_queues_nothing(journal: Journal) -> None:
    runner = RunnerDouble()
    bridge = make_bridge(journal, runner)
    replies = Replies()
    bridge.handle(PREFIX + "generate", ["b2", "refuse me"], replies)
    bridge.handle(PREFIX + "generate", ["b3", "rain", "steps", 0], replies)
    bridge.handle("/elsewhere", [], replies)
    bridge.stop()
    assert [(name, args[1]) for name, args in replies.sent] == [
        ("error", "bad_value"), ("error", "bad_value"), ("error", "bad_message"),
    ]  # fmt: skip
    assert runner.ran == [] and journal.unfinished() == []


def test_a_full_queue_says_busy_and_cancel_reaches_a_queued_job(journal: Journal) -> None:
    hold = threading.Event()
    bridge = make_bridge(journal, RunnerDouble(hold=hold), capacity=1)
    running, queued, refused = Replies(), Replies(), Replies()
    bridge.handle(PREFIX + "generate", ["c1", "rain"], running)
    wait_for(lambda: bridge.queue.counts() == (0, 1))
    bridge.handle(PREFIX + "generate", ["c2", "rain"], queued)
    bridge.handle(PREFIX + "generate", ["c3", "rain"], refused)
    bridge.handle(PREFIX + "cancel", ["c2"], Replies())
    hold.set()
    wait_for(lambda: "done" in running.names())
    bridge.stop()
    assert refused.sent[0][0] == "error" and refused.sent[0][1][1] == "busy"
    assert queued.sent[-1][1][1:] == ["cancelled", "cancelled before it started"]
    assert journal.latest("c2").state == states.CANCELLED
