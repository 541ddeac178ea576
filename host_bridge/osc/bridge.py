"""The bridge service: parsed requests in, replies out, jobs through the queue to the engine runner.

Transport-agnostic: UDP, TCP and the spool folder all call `handle(address, args, reply)`. Queries
(ping, status, presets, models, tempo, cancel) are answered at once; jobs are planned (every check that
needs no model), journaled, queued and acknowledged with `accepted`, or refused with `error`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..home import soundloom_version
from . import job as states
from .job import Job, JobDone, JobEvent, JobFailed, JobProgress, JobQueued
from .job_queue import JobQueue
from .journal import Journal, JournalEntry
from .protocol import INTERRUPTED, NOT_FOUND, PREFIX, Command, ProtocolError, parse, reply_port_of
from .runner import EngineRunner
from .spool import SpoolReply
from .transport import ReplyTarget

RESTART_POLICIES = ("fail", "rerun")


class Bridge:
    def __init__(
        self,
        runner: EngineRunner,
        journal: Journal,
        capacity: int = 32,
        make_udp_reply: Callable[[str, int], ReplyTarget] | None = None,
        model_names: Callable[[], list[str]] | None = None,
    ):
        self.runner, self.journal = runner, journal
        self.queue = JobQueue(runner.run, self._announce, journal, capacity)
        self.make_udp_reply = make_udp_reply
        self.model_names = model_names or (lambda: [])
        self._submit_lock = threading.Lock()  # plan + submit as one step per request id
        self._latest: list[str] = []  # the last finished job's files: what MIDI notes audition
        # Called on the thread where things happen, with every job's events, whoever sent it (the app's
        # window watches this way).
        self.watchers: list[Callable[[JobEvent], None]] = []
        self.last_message: tuple[float, str] | None = None  # (time.time(), address) of the latest request

    def start(self, on_restart: str = "fail") -> list[JournalEntry]:
        """Recover what a previous run left unfinished, then start the worker. Returns those entries."""
        leftovers = self.journal.unfinished()
        for entry in leftovers:
            self._recover(entry, on_restart)
        self.queue.start()
        return leftovers

    def stop(self) -> None:
        self.queue.stop()

    def latest_takes(self) -> list[str]:
        return list(self._latest)

    def handle(self, address: str, args: list[Any], reply: ReplyTarget) -> None:
        self.last_message = (time.time(), address)
        reply = reply.for_port(reply_port_of(args))
        try:
            command = parse(address, args)
            if command.is_job:
                self.submit(command, reply)
            else:
                self._answer(command, reply)
        except ProtocolError as error:
            reply.send(PREFIX + "error", [error.request_id, error.code, error.message])

    def submit(self, command: Command, reply: ReplyTarget) -> Job:
        """Plan, journal and queue a job command; ProtocolError says why it was refused."""
        with self._submit_lock:
            self.runner.plan(command)
            job = self.queue.submit(
                command,
                reply,
                reply.record(),
                on_queued=lambda job: self._tell_watchers(JobQueued(job, reply.record())),
            )
            queued, _ = self.queue.counts()
        reply.send(PREFIX + "accepted", [command.request_id, queued - 1])
        return job

    def _tell_watchers(self, event: JobEvent) -> None:
        for watcher in self.watchers:
            watcher(event)

    def _answer(self, command: Command, reply: ReplyTarget) -> None:
        kind = command.kind
        if kind == "ping":
            reply.send(PREFIX + "pong", [soundloom_version()])
        elif kind == "cancel":
            if not self.queue.cancel(command.request_id):
                raise ProtocolError(
                    NOT_FOUND, "no queued or running request with this id", command.request_id
                )
        elif kind == "status":
            reply.send(PREFIX + "status", self._status(command.request_id))
        elif kind == "tempo":
            tempo = self.runner.tempo.current
            if "bpm" in command.options:
                tempo = self.runner.tempo.update(command.options)
            reply.send(PREFIX + "tempo", [tempo.bpm, tempo.beats_per_bar, tempo.source, tempo.beat_unit])
        elif kind == "presets":
            library = self.runner.library
            for preset_kind, entries in (("effect", library.effects), ("prompt", library.prompts)):
                if command.prompt in ("", preset_kind):
                    names = sorted(entry.preset.name for entry in entries.values())
                    reply.send(PREFIX + "presets", [preset_kind, *names])
        elif kind == "models":
            reply.send(PREFIX + "models", self.model_names())

    def _status(self, request_id: str) -> list[Any]:
        if not request_id:
            queued, running = self.queue.counts()
            tempo = self.runner.tempo.current
            return ["", states.QUEUED, queued, states.RUNNING, running, "bpm", tempo.bpm]
        active = self.queue.status(request_id)
        if active is not None:
            return [request_id, active[0], active[1]]
        entry = self.journal.latest(request_id)
        if entry is None:
            raise ProtocolError(NOT_FOUND, "no request with this id in the journal", request_id)
        return [request_id, entry.state, 1.0 if entry.state == states.DONE else 0.0, entry.detail]

    def _announce(self, event: JobEvent) -> None:
        """The queue's events, as replies to whoever sent the job, then to the watchers."""
        job = event.job
        request_id = job.request_id
        if isinstance(event, JobProgress):
            job.reply.send(PREFIX + "progress", [request_id, float(event.fraction), event.step, event.total])
        elif isinstance(event, JobDone):
            for result in event.results:
                seed = result.seed if result.seed is not None else -1
                job.reply.send(
                    PREFIX + "result",
                    [request_id, result.path, float(result.duration_s), result.sample_rate, seed],
                )
            self._latest = [result.path for result in event.results]
            job.reply.send(PREFIX + "done", [request_id, *self._latest])
        elif isinstance(event, JobFailed):
            job.reply.send(PREFIX + "error", [request_id, event.code, event.message])
        self._tell_watchers(event)

    def _recover(self, entry: JournalEntry, on_restart: str) -> None:
        reply = self._reply_from_record(entry.reply)
        was = "running" if entry.state == states.RUNNING else "waiting in the queue"
        if on_restart == "rerun":
            try:
                command = parse(entry.message[0], entry.message[1:])
                self.runner.plan(command)
                self.journal.set_state(entry.job_id, states.QUEUED)
                self.queue.submit(command, reply, entry.reply, job_id=entry.job_id)
                reply.send(PREFIX + "accepted", [entry.request_id, 0])
                return
            except ProtocolError as error:
                reason = f"the bridge restarted and could not re-run it: {error.message}"
                self.journal.set_state(entry.job_id, states.FAILED, reason)
                reply.send(PREFIX + "error", [entry.request_id, error.code, reason])
                return
        reason = f"the bridge stopped while this request was {was}; send it again"
        self.journal.set_state(entry.job_id, states.FAILED, reason)
        reply.send(PREFIX + "error", [entry.request_id, INTERRUPTED, reason])

    def _reply_from_record(self, record: dict[str, Any]) -> ReplyTarget:
        if "udp" in record and self.make_udp_reply is not None:
            host, port = record["udp"]
            return self.make_udp_reply(host, int(port))
        if "spool" in record:
            return SpoolReply(Path(record["spool"]))
        return ReplyTarget()  # a TCP connection does not outlive the process: the journal keeps the reason
