"""The bridge: parsed requests in, replies out, jobs through the queue to the job runner.

Transport-agnostic: UDP, TCP and the spool folder all call `handle(address, args, reply)`, which checks
the token, parses the message (protocol.py) and calls its address's handler (`handlers`). Queries (ping,
status, presets, models, tempo, cancel) are answered at once; jobs are planned (every check that needs no
model), journaled, queued and acknowledged with `accepted`, or refused with `error`. What a previous run
left in the journal is answered by recovery.py when the bridge starts.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..daw.hosts import request_host
from ..home import soundloom_version
from ..jobs.errors import NOT_FOUND, UNAUTHORIZED, UNAVAILABLE, JobError
from ..jobs.options import JOB_KINDS
from ..jobs.runner import JobRunner
from ..logs import Tally, where_logged
from . import job as states
from .job import Job, JobDone, JobEvent, JobFailed, JobPreview, JobProgress, JobQueued
from .job_queue import JobQueue
from .journal import Journal, JournalEntry
from .protocol import (
    LICENCE_DETAIL,
    MAX_REQUEST_ID,
    PREFIX,
    Command,
    is_reply,
    parse,
    reply_port_of,
    request_id_of,
    token_of,
)
from .recovery import Recovery
from .replies import send_done, send_error
from .spool import SpoolReply
from .transport import ReplyTarget

log = logging.getLogger(__name__)


class Bridge:
    def __init__(
        self,
        runner: JobRunner,
        journal: Journal,
        capacity: int = 32,
        make_udp_reply: Callable[[str, int], ReplyTarget] | None = None,
        model_names: Callable[[], list[str]] | None = None,
        dropped: Callable[[], int] | None = None,
        workers: int = 1,
        token: str = "",
    ):
        """`dropped()`: how many packets the transports dropped (a status reply reports it); `workers`:
        jobs run at once (one per engine actor); `token`: the shared secret every UDP/TCP request must
        carry (empty: none asked)."""
        self.runner, self.journal = runner, journal
        self.dropped = dropped or (lambda: 0)
        self.queue = JobQueue(runner.run, self._announce, journal, capacity, workers)
        self.token = token
        self.make_udp_reply = make_udp_reply
        self.model_names = model_names or (lambda: [])
        self._submit_lock = threading.Lock()  # plan + submit as one step per request id
        self._latest: list[str] = []  # the last finished job's files: what MIDI notes audition
        # Called on the thread where things happen, with every job's events, whoever sent it (the app's
        # window watches this way).
        self.watchers: list[Callable[[JobEvent], None]] = []
        self.last_message: tuple[float, str] | None = None  # (time.time(), address) of the latest request
        self.ignored_replies = Tally(log, "reply messages ignored (the bridge never answers a reply)")
        self.unauthorized = Tally(log, "requests refused as unauthorized (no or a wrong token)")
        # Each address's handler, given its parsed command (protocol.PARSERS parses each address).
        self.handlers: dict[str, Callable[[Command, ReplyTarget], None]] = {
            **{kind: self._submit_job for kind in JOB_KINDS},
            "ping": self._ping,
            "cancel": self._cancel,
            "status": self._answer_status,
            "tempo": self._tempo,
            "presets": self._presets,
            "models": self._models,
        }

    def start(self, on_restart: str = "fail") -> list[JournalEntry]:
        """Answer what a previous run finished without answering, recover what it left unfinished
        (recovery.py), then start the worker. Returns the unfinished entries."""
        leftovers = Recovery(self.journal, self.queue, self.runner.plan, self.make_udp_reply).run(on_restart)
        self.queue.start()
        return leftovers

    def stop(self) -> None:
        self.queue.stop()

    def latest_takes(self) -> list[str]:
        return list(self._latest)

    def handle(self, address: str, args: list[Any], reply: ReplyTarget) -> None:
        """Answer one message, whatever it holds; only a reply-address message gets no answer."""
        self.last_message = (time.time(), address)
        if is_reply(address):
            self.ignored_replies.add()
            return
        reply = reply.for_port(reply_port_of(args))
        if self.token and not isinstance(reply, SpoolReply) and not self._authorized(args):
            self.unauthorized.add()
            reply.send(
                PREFIX + "error",
                [
                    request_id_of(address, args),
                    UNAUTHORIZED,
                    "this bridge needs its token: add the pair token SECRET",
                ],
            )
            return
        try:
            command = parse(address, args)
            self.handlers[command.kind](command, reply)
        except JobError as error:
            send_error(reply, error.request_id, error.code, error.message)
        except Exception as error:  # a fault of ours or of the disk: this message fails, the bridge serves on
            log.exception("a message to %.80s failed", address)
            request_id = (
                args[0] if args and isinstance(args[0], str) and len(args[0]) <= MAX_REQUEST_ID else ""
            )
            reason = f"{type(error).__name__}: {error}"[:300]
            send_error(reply, request_id, UNAVAILABLE, f"not handled: {reason}{where_logged()}")

    def _authorized(self, args: list[Any]) -> bool:
        """Whether the message carries the bridge's token (compared in constant time). The spool folder
        needs none: writing into it already takes this machine's account."""
        token = token_of(args)
        return token is not None and hmac.compare_digest(
            token.encode("utf-8", "replace"), self.token.encode()
        )

    def _submit_job(self, command: Command, reply: ReplyTarget) -> None:
        self.submit(command, reply)

    def submit(self, command: Command, reply: ReplyTarget) -> Job:
        """Plan, journal and queue a job command; JobError says why it was refused."""
        record = replace(reply.record(), host=request_host(command.request_id))
        with self._submit_lock:
            self.runner.plan(command.spec(), command.request_id)
            job = self.queue.submit(
                command, reply, record, on_queued=lambda job: self._tell_watchers(JobQueued(job, record))
            )
            queued, _ = self.queue.counts()
        reply.send(PREFIX + "accepted", [command.request_id, queued - 1])
        return job

    def _tell_watchers(self, event: JobEvent) -> None:
        for watcher in self.watchers:
            try:
                watcher(event)
            except Exception:  # a watcher's fault is its own: the job, its replies and the others go on
                log.exception("a watcher failed on %s", type(event).__name__)

    def _ping(self, command: Command, reply: ReplyTarget) -> None:
        reply.send(PREFIX + "pong", [soundloom_version()])

    def _cancel(self, command: Command, reply: ReplyTarget) -> None:
        if not self.queue.cancel(command.request_id):
            # Not under the job's id: a client waiting for that job must not read it as its end.
            raise JobError(NOT_FOUND, f"cancel: no queued or running request {command.request_id!r}", "")

    def _answer_status(self, command: Command, reply: ReplyTarget) -> None:
        reply.send(PREFIX + "status", self._status(command.request_id))

    def _tempo(self, command: Command, reply: ReplyTarget) -> None:
        tempo = self.runner.planner.tempo.current
        if "bpm" in command.options:
            tempo = self.runner.planner.tempo.update(command.options)
        reply.send(PREFIX + "tempo", [tempo.bpm, tempo.beats_per_bar, tempo.source, tempo.beat_unit])

    def _presets(self, command: Command, reply: ReplyTarget) -> None:
        library = self.runner.planner.library
        for preset_kind, entries in (("effect", library.effects), ("prompt", library.prompts)):
            if command.prompt in ("", preset_kind):
                names = sorted(entry.preset.name for entry in entries.values())
                reply.send(PREFIX + "presets", [preset_kind, *names])

    def _models(self, command: Command, reply: ReplyTarget) -> None:
        if command.prompt == LICENCE_DETAIL:  # flat: name licence link nc, ...
            rows = [(name, self.runner.model_licence(name)) for name in self.model_names()]
            fields = [[name, lic.title, lic.link, int(lic.noncommercial)] for name, lic in rows]
            reply.send(PREFIX + "models", [LICENCE_DETAIL, *(field for row in fields for field in row)])
        else:  # the reply old clients know: names only
            reply.send(PREFIX + "models", self.model_names())

    def _status(self, request_id: str) -> list[Any]:
        if not request_id:
            queued, running = self.queue.counts()
            tempo = self.runner.planner.tempo.current
            counts = [states.QUEUED, queued, states.RUNNING, running]
            return ["", *counts, "bpm", tempo.bpm, "dropped", self.dropped()]
        active = self.queue.status(request_id)
        if active is not None:
            return [request_id, active[0], active[1]]
        entry = self.journal.latest(request_id)
        if entry is None:
            raise JobError(NOT_FOUND, "no request with this id in the journal", request_id)
        return [request_id, entry.state, 1.0 if entry.state == states.DONE else 0.0, entry.detail]

    def _announce(self, event: JobEvent) -> None:
        """The queue's events, as replies to whoever sent the job, then to the watchers."""
        job = event.job
        request_id = job.request_id
        if isinstance(event, JobProgress):
            job.reply.send(PREFIX + "progress", [request_id, float(event.fraction), event.step, event.total])
        elif isinstance(event, JobPreview):
            job.reply.send(PREFIX + "preview", [request_id, event.path, float(event.fraction)])
        elif isinstance(event, JobDone):
            self._latest = [result.path for result in event.results]
            send_done(job.reply, request_id, event.results)
        elif isinstance(event, JobFailed):
            send_error(job.reply, request_id, event.code, event.message)
        self._tell_watchers(event)
