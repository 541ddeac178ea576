"""Every accepted job ends in exactly one terminal reply across a kill at any point, and no take exists twice
(issue 22, defect 6), shown on the journal states a kill leaves behind: done but not reported, files
written but not journaled, half a delivery, more unfinished jobs than the queue holds. The kill itself,
at random points of a real `soundloom serve`, is in test_bridge_kills.py and benchmarks/bridge_kills.py."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from soundloom.host_bridge.delivery.deliver import Delivery, write_takes
from soundloom.host_bridge.delivery.provenance import Provenance
from soundloom.host_bridge.osc import job as states
from soundloom.host_bridge.osc.bridge import Bridge
from soundloom.host_bridge.osc.job_queue import JobQueue
from soundloom.host_bridge.osc.journal import Journal
from soundloom.host_bridge.osc.protocol import PREFIX, parse
from soundloom.host_bridge.osc.reply_record import TCP, ReplyRecord
from soundloom.host_bridge.osc.transport import UdpReply
from soundloom.host_bridge.osc_codec import decode
from soundloom.presets import EffectChain, ExportSettings

from ..helpers.bridge_doubles import Replies, RunnerDouble, wait_for


@pytest.fixture
def journal(tmp_path: Path):
    journal = Journal(tmp_path / "jobs.sqlite")
    yield journal
    journal.close()


@pytest.fixture
def client():
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(1.0)
    yield sender, receiver
    sender.close()
    receiver.close()


def received(receiver: socket.socket) -> list[tuple[str, list]]:
    found = []
    try:
        while True:
            found += decode(receiver.recv(65536))
    except TimeoutError:
        return found


def restart(journal: Journal, sender: socket.socket, on_restart: str = "fail", capacity: int = 4) -> Bridge:
    bridge = Bridge(RunnerDouble(), journal, capacity, make_udp_reply=lambda h, p: UdpReply(sender, (h, p)))
    bridge.start(on_restart)
    return bridge


def accepted_job(
    journal: Journal, request_id: str, receiver: socket.socket, state: str = states.RUNNING
) -> int:
    job_id = journal.add(
        request_id, [PREFIX + "generate", request_id, "rain"], {"udp": list(receiver.getsockname())}
    )
    journal.set_state(job_id, state)
    return job_id


def delivered_takes(folder: Path, count: int) -> list[list[str | None]]:
    """Real takes with provenance and dry takes, as a delivery writes them; returns the planned paths."""
    planned: list[list[list[str | None]]] = []
    folder.mkdir(exist_ok=True)
    tone = (np.sin(np.arange(1600) / 3) * 0.3).astype(np.float32)[:, None]  # not silent: no warning reply
    takes = [(Provenance(prompt="rain", seed=7 + n, variation=n + 1), tone, 16000)
             for n in range(count)]  # fmt: skip
    delivery = Delivery(EffectChain(), ExportSettings(sample_rate=48000))  # changes the audio: dry takes kept
    write_takes(takes, folder, delivery, False, planned.append)
    return planned[0]


def test_a_done_never_sent_is_sent_once_at_the_next_start(journal: Journal, client) -> None:
    sender, receiver = client
    job_id = accepted_job(journal, "d1", receiver)
    journal.set_state(job_id, states.DONE, "/out/d1.wav", results=[["/out/d1.wav", 1.0, 48000, 7]])
    restart(journal, sender).stop()  # killed before the reply went out: the journal says unreported
    assert received(receiver) == [
        (PREFIX + "result", ["d1", "/out/d1.wav", 1.0, 48000, 7]),
        (PREFIX + "done", ["d1", "/out/d1.wav"]),
    ]
    restart(journal, sender).stop()  # and never again
    assert received(receiver) == []


def test_takes_written_before_the_kill_are_the_jobs_result_not_orphans(
    journal: Journal, client, tmp_path
) -> None:
    sender, receiver = client
    outputs = delivered_takes(tmp_path / "out", 2)
    job_id = accepted_job(journal, "w1", receiver)
    journal.set_outputs(job_id, outputs)  # killed after both files, before the journal's `done`
    for on_restart in ("rerun", "fail"):  # a rerun has nothing left to do either
        restart(journal, sender, on_restart).stop()
        replies = received(receiver)
        assert [address for address, _ in replies] == [PREFIX + "result", PREFIX + "result", PREFIX + "done"]
        assert replies[-1][1] == ["w1", *(take for take, _ in outputs)]
        assert [args[4] for _, args in replies[:2]] == [7, 8]  # the seeds, read back from the files
        journal.set_state(job_id, states.RUNNING)
    assert sorted(path.name for path in (tmp_path / "out").rglob("*.wav")) == sorted(
        Path(path).name for pair in outputs for path in pair
    )  # nothing written twice, nothing removed


@pytest.mark.parametrize("on_restart", ["fail", "rerun"])
def test_half_a_delivery_is_removed_then_failed_or_rerun(
    journal: Journal, client, tmp_path, on_restart
) -> None:
    sender, receiver = client
    outputs = delivered_takes(tmp_path / "out", 1)
    missing = [str(tmp_path / "out" / "second.wav"), None]  # the kill came before the second take
    job_id = accepted_job(journal, "h1", receiver)
    journal.set_outputs(job_id, [*outputs, missing])
    bridge = restart(journal, sender, on_restart)
    assert list((tmp_path / "out").rglob("*.wav")) == []  # no orphan, so a rerun cannot write a -2
    if on_restart == "rerun":
        wait_for(lambda: journal.entry(job_id).state == states.DONE)
    bridge.stop()
    terminal = [
        (address, args) for address, args in received(receiver) if address.endswith(("done", "error"))
    ]
    assert len(terminal) == 1
    expected = (PREFIX + "done", "h1") if on_restart == "rerun" else (PREFIX + "error", "h1")
    assert (terminal[0][0], terminal[0][1][0]) == expected


def test_a_rerun_keeps_every_unfinished_job_however_small_the_queue(journal: Journal, client) -> None:
    """Defect 6: `--on-restart rerun` refused jobs beyond --queue-size with `busy`."""
    sender, receiver = client
    ids = [accepted_job(journal, f"q{n}", receiver, states.QUEUED) for n in range(6)]
    bridge = restart(journal, sender, "rerun", capacity=2)
    wait_for(lambda: all(journal.entry(job_id).state == states.DONE for job_id in ids), 10)
    bridge.stop()
    done = [args[0] for address, args in received(receiver) if address == PREFIX + "done"]
    assert sorted(done) == [f"q{n}" for n in range(6)]


def test_the_queue_journals_a_deliverys_files_before_it_writes_them(journal: Journal) -> None:
    def runner(job, progress, preview):
        job.record_outputs([["/out/a.wav", "/out/dry/a.dry.wav"]])
        raise OSError(28, "No space left on device")

    events = []
    queue = JobQueue(runner, events.append, journal)
    queue.start()
    job = queue.submit(parse(PREFIX + "generate", ["o1", "rain"]), Replies(), ReplyRecord(TCP))
    wait_for(lambda: events)
    queue.stop()
    entry = journal.entry(job.job_id)
    assert entry.outputs == [["/out/a.wav", "/out/dry/a.dry.wav"]]
    assert (entry.state, entry.code) == (states.FAILED, "failed") and journal.unreported() == []
