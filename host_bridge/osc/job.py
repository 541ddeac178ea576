"""A queued job (its command, its reply target, its state), and the events of its life, typed: the queue
and the bridge emit them, the bridge's replies and the app's window watch them. What a job delivers is
a `TakeFile` (delivery/take_file.py).

A job moves queued -> running -> done | failed | cancelled; the journal stores the same state names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..delivery.take_file import TakeFile
from ..jobs.spec import JobSpec
from .protocol import Command
from .reply_record import ReplyRecord

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


@dataclass
class Job:
    job_id: int
    command: Command
    reply: Any  # the transport's reply target; the queue only hands it back in events
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = QUEUED
    fraction: float = 0.0
    # Called with the [take, dry take or None] files a delivery is about to write, before it writes them.
    record_outputs: Callable[[list[list[str | None]]], None] = field(default=lambda paths: None)

    @property
    def request_id(self) -> str:
        return self.command.request_id

    @property
    def spec(self) -> JobSpec:
        return self.command.spec()


@dataclass(frozen=True)
class JobQueued:
    job: Job
    reply_record: ReplyRecord  # where its replies go, and who asked


@dataclass(frozen=True)
class JobProgress:
    job: Job
    fraction: float
    step: int
    total: int


@dataclass(frozen=True)
class JobPreview:
    """A rough version of the job's first take, written to `path` (replaced by the next preview), after
    `fraction` of the denoising steps."""

    job: Job
    path: str
    fraction: float


@dataclass(frozen=True)
class JobDone:
    job: Job
    results: list[TakeFile]


@dataclass(frozen=True)
class JobFailed:
    """Failed or cancelled: `code` is the protocol's error code (`cancelled` for a cancel), `message`
    the one line for people."""

    job: Job
    code: str
    message: str

    @property
    def state(self) -> str:
        return CANCELLED if self.code == "cancelled" else FAILED


JobEvent = JobQueued | JobProgress | JobPreview | JobDone | JobFailed
