"""Crash recovery: what a previous run of the bridge left, answered when it starts again.

Each journaled job that ended without its terminal reply going out gets it now (`report_again`). Each
that was queued or running is recovered (`recover`): a delivery records its [take, dry take] paths before
writing them (journal `outputs`); the names were free then, and takes are written whole or not at all. So
every take there means the job finished (its results are read back from the files); anything less is
removed, so that a re-run writes each take once and no orphan is left, and the job is failed
(`interrupted`) or, with `--on-restart rerun`, planned and queued again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import soundfile as sf

from ..delivery.provenance import read_file_provenance
from ..delivery.take_file import TakeFile
from ..jobs.errors import FAILED, INTERRUPTED, JobError
from . import job as states
from .job_queue import JobQueue
from .journal import Journal, JournalEntry
from .protocol import PREFIX, parse
from .replies import send_done, send_error
from .reply_record import SPOOL, UDP, ReplyRecord
from .spool import SpoolReply
from .transport import ReplyTarget

log = logging.getLogger(__name__)

RESTART_POLICIES = ("fail", "rerun")
Plan = Callable[[Any, str], Any]  # the runner's plan(spec, request_id): JobError when it cannot run
MakeUdpReply = Callable[[str, int], ReplyTarget]


class Recovery:
    """Answers a previous run's journal: what `Bridge.start` does before the queue starts."""

    def __init__(self, journal: Journal, queue: JobQueue, plan: Plan, make_udp_reply: MakeUdpReply | None):
        self.journal, self.queue, self.plan, self.make_udp_reply = journal, queue, plan, make_udp_reply

    def run(self, on_restart: str) -> list[JournalEntry]:
        """Report what ended unreported, recover what was unfinished; returns the unfinished entries."""
        for entry in self.journal.unreported():
            self.report_again(entry)
        leftovers = self.journal.unfinished()
        for entry in leftovers:
            self.recover(entry, on_restart)
        return leftovers

    def report_again(self, entry: JournalEntry) -> None:
        """A job that ended without its terminal reply going out (killed in between): send it now."""
        reply = self.reply_to(entry.reply)
        if not (isinstance(reply, SpoolReply) and reply.ended()):  # the spool file shows what went out
            if entry.state == states.DONE:
                send_done(reply, entry.request_id, [TakeFile.from_list(result) for result in entry.results])
            else:
                send_error(reply, entry.request_id, entry.code or FAILED, entry.detail)
        self.journal.set_reported(entry.job_id)

    def recover(self, entry: JournalEntry, on_restart: str) -> None:
        reply = self.reply_to(entry.reply)
        results = finished_takes(entry.outputs) if entry.state == states.RUNNING else None
        if results is not None:  # killed after its last file was written: it is done
            self.journal.set_state(
                entry.job_id,
                states.DONE,
                " ".join(r.path for r in results),
                "",
                [r.to_list() for r in results],
            )
            send_done(reply, entry.request_id, results)
            self.journal.set_reported(entry.job_id)
            return
        for path in remove_partial_takes(entry.outputs):
            log.info("job %s: removed %s, left by the killed run", entry.request_id, path)
        was = "running" if entry.state == states.RUNNING else "waiting in the queue"
        if on_restart == "rerun":
            try:
                command = parse(entry.message[0], entry.message[1:])
                self.plan(command.spec(), command.request_id)
                self.journal.set_state(entry.job_id, states.QUEUED)
                record = ReplyRecord.from_dict(entry.reply)
                self.queue.submit(command, reply, record, job_id=entry.job_id, force=True)
                reply.send(PREFIX + "accepted", [entry.request_id, 0])
                return
            except JobError as error:
                self.fail(
                    entry, reply, error.code, f"the bridge restarted and could not re-run it: {error.message}"
                )
                return
        self.fail(
            entry, reply, INTERRUPTED, f"the bridge stopped while this request was {was}; send it again"
        )

    def fail(self, entry: JournalEntry, reply: ReplyTarget, code: str, reason: str) -> None:
        self.journal.set_state(entry.job_id, states.FAILED, reason, code)
        send_error(reply, entry.request_id, code, reason)
        self.journal.set_reported(entry.job_id)

    def reply_to(self, raw: dict[str, Any]) -> ReplyTarget:
        """Where a journaled job's replies go now."""
        record = ReplyRecord.from_dict(raw)
        if record.transport == UDP and self.make_udp_reply is not None:
            return self.make_udp_reply(record.address, record.port)
        if record.transport == SPOOL:
            return SpoolReply.resume(Path(record.address))
        return ReplyTarget()  # a TCP connection does not outlive the process: the journal keeps the reason


def finished_takes(outputs: list[list[str | None]]) -> list[TakeFile] | None:
    """The results of a delivery whose every take is on disk, or None."""
    if not outputs:
        return None
    results = []
    for take, _dry in outputs:
        path = Path(take)
        try:
            result = TakeFile.read(path) if path.is_file() else None
        except (OSError, sf.LibsndfileError, RuntimeError):
            return None
        if result is None or result.provenance is None:  # not there, or not ours
            return None
        results.append(result)
    return results


def remove_partial_takes(outputs: list[list[str | None]]) -> list[Path]:
    """Remove what an unfinished delivery wrote; returns the removed paths.

    A take is removed only if it carries Soundloom's provenance (so never a file someone else put at that
    name since); a dry take sits in the output's dry/ folder under the name it was given, and only ours do.
    """
    removed = []
    for take, dry in outputs:
        path = Path(take)
        if path.is_file() and not path.is_symlink() and read_file_provenance(path) is not None:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        if dry is not None and Path(dry).is_file() and not Path(dry).is_symlink():
            with contextlib.suppress(OSError):
                Path(dry).unlink()
                removed.append(Path(dry))
    return removed
