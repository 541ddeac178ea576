"""The job queue in front of the engine: worker threads, priorities, cancellation, a hard bound.

Jobs run one at a time on a bridge with its own engine (one model on one GPU); a bridge whose engine is a
pool of Ray actors (`serve --ray`) runs one worker thread per actor, so that many jobs at once. Lower
priority numbers run first (a DAW request before a batch); within a priority, first come first served.
A full queue refuses with `busy` rather than growing without limit. Every state change is journaled
before it is announced.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from ...engine.errors import EngineError, GenerationCancelled
from ...presets import PresetError
from ..errors import BridgeError
from ..jobs.errors import BUSY, CANCELLED, DUPLICATE_ID, FAILED, UNAVAILABLE, JobError
from ..logs import where_logged
from . import job as states
from .job import Job, JobDone, JobEvent, JobFailed, JobPreview, JobProgress, TakeFile
from .journal import Journal, JournalError
from .protocol import Command, ProtocolError
from .reply_record import ReplyRecord

log = logging.getLogger(__name__)

# What the worker calls: run the job, report (step, total) progress and (path, fraction) previews, raise
# on failure.
Runner = Callable[[Job, Callable[[int, int], None], Callable[[str, float], None]], list[TakeFile]]
# What the queue announces: JobProgress, JobPreview, JobDone or JobFailed (the bridge announces JobQueued).
Listener = Callable[[JobEvent], None]


class JobQueue:
    def __init__(
        self, runner: Runner, listener: Listener, journal: Journal, capacity: int = 32, workers: int = 1
    ):
        self.runner, self.listener, self.journal, self.capacity = runner, listener, journal, capacity
        self._heap: list[tuple[int, int, Job]] = []  # (priority, arrival, job)
        self._active: dict[str, Job] = {}  # request id -> queued or running job
        self._arrival = itertools.count()
        self._condition = threading.Condition()
        self._stopping = False
        self._workers = [
            threading.Thread(target=self._work, name=f"soundloom-worker-{n}", daemon=True)
            for n in range(1, workers + 1)
        ]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish nothing new: the running job is cancelled; queued ones stay journaled for the restart."""
        with self._condition:
            self._stopping = True
            for job in self._active.values():
                if job.state == states.RUNNING:
                    job.cancel.set()
            self._condition.notify_all()
        for worker in self._workers:
            if worker.is_alive():
                worker.join(timeout)

    def submit(
        self,
        command: Command,
        reply: Any,
        reply_record: ReplyRecord,
        job_id: int | None = None,
        on_queued: Callable[[Job], None] | None = None,
        force: bool = False,
    ) -> Job:
        """Queue a job (journaled first) or refuse it: busy when full, duplicate_id when the id is in use,
        unavailable when the journal cannot record it. `force` (jobs a restart re-runs, accepted once
        already) ignores the bound.

        `on_queued` runs before the worker can see the job, so whoever watches hears "queued" first.
        """
        with self._condition:
            if command.request_id in self._active:
                raise ProtocolError(
                    DUPLICATE_ID,
                    f"request {command.request_id!r} is already queued or running",
                    command.request_id,
                )
            if len(self._heap) >= self.capacity and not force:
                raise ProtocolError(
                    BUSY,
                    f"the queue is full ({self.capacity} jobs waiting); try again later",
                    command.request_id,
                )
            if job_id is None:
                address, args = command.to_message()
                try:
                    job_id = self.journal.add(command.request_id, [address, *args], reply_record.to_dict())
                except JournalError as error:
                    log.error("request %s refused: %s", command.request_id, error)
                    raise ProtocolError(UNAVAILABLE, f"{error}; not accepted", command.request_id) from None
            job = Job(
                job_id, command, reply, record_outputs=functools.partial(self.journal.set_outputs, job_id)
            )
            heapq.heappush(self._heap, (command.priority, next(self._arrival), job))
            self._active[command.request_id] = job
            if on_queued is not None:
                on_queued(job)
            self._condition.notify()
            return job

    def cancel(self, request_id: str) -> bool:
        """Cancel a queued job at once, a running one at its next sampler step. False: no such job."""
        with self._condition:
            job = self._active.get(request_id)
            if job is None:
                return False
            job.cancel.set()
            if job.state == states.QUEUED:
                self._heap = [entry for entry in self._heap if entry[2] is not job]
                heapq.heapify(self._heap)
                del self._active[request_id]
        if job.state == states.QUEUED:
            self._finish(JobFailed(job, CANCELLED, "cancelled before it started"))
        return True

    def status(self, request_id: str) -> tuple[str, float] | None:
        """(state, progress fraction) of an active job; None when the id is not queued or running."""
        with self._condition:
            job = self._active.get(request_id)
            return (job.state, job.fraction) if job else None

    def counts(self) -> tuple[int, int]:
        """(queued, running)."""
        with self._condition:
            running = sum(job.state == states.RUNNING for job in self._active.values())
            return len(self._heap), running

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._heap and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                job = heapq.heappop(self._heap)[2]
                job.state = states.RUNNING
            try:
                self.journal.set_state(job.job_id, states.RUNNING)
            except JournalError as error:  # not run unjournaled: a restart could not account for it
                self._finish(JobFailed(job, UNAVAILABLE, f"{error}; not run"))
                continue
            try:
                self._run(job)
            except Exception:  # _run reports every failure; this keeps the worker alive if that breaks
                log.exception("job %s: the worker caught an unexpected error", job.request_id)

    def _run(self, job: Job) -> None:
        def progress(step: int, total: int) -> None:
            job.fraction = step / total
            self.listener(JobProgress(job, job.fraction, step, total))

        def preview(path: str, fraction: float) -> None:
            self.listener(JobPreview(job, path, fraction))

        log.info("job %s started: %s", job.request_id, job.command.kind)
        try:
            results = self.runner(job, progress, preview)
        except GenerationCancelled:
            if self._stopping:  # shutting down: leave it journaled as running, reported on restart
                with self._condition:
                    self._active.pop(job.request_id, None)
                return
            self._finish(JobFailed(job, CANCELLED, "cancelled while running"))
        except JobError as error:  # the input changed while it waited: refused, as at submission
            log.info("job %s refused when it ran: %s", job.request_id, error.message)
            self._finish(JobFailed(job, error.code, error.message))
        except (EngineError, BridgeError, PresetError) as error:  # a reason a user can act on
            log.warning("job %s failed: %s", job.request_id, error, exc_info=True)
            self._finish(JobFailed(job, FAILED, f"{error}{where_logged()}"))
        except Exception as error:  # a defect: the message names the log, which keeps the traceback
            log.exception("job %s failed unexpectedly", job.request_id)
            message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self._finish(JobFailed(job, FAILED, f"{message}{where_logged()}"))
        else:
            log.info("job %s done: %s", job.request_id, " ".join(result.path for result in results))
            self._finish(JobDone(job, results))

    def _finish(self, event: JobDone | JobFailed) -> None:
        """Journal the outcome, announce it (the bridge sends the terminal reply), then mark it reported:
        a kill between the last two is answered again at the next start."""
        job = event.job
        if isinstance(event, JobDone):
            state, code, detail = states.DONE, "", " ".join(result.path for result in event.results)
            results = [result.to_list() for result in event.results]
        else:
            state, code, detail, results = event.state, event.code, event.message, []
        journaled = self._journal(self.journal.set_state, job.job_id, state, detail, code, results)
        with self._condition:
            job.state = state
            self._active.pop(job.request_id, None)
        try:
            self.listener(event)
        except Exception:
            log.exception("job %s: announcing its end failed", job.request_id)
            return
        if journaled:
            self._journal(self.journal.set_reported, job.job_id)

    @staticmethod
    def _journal(write: Callable[..., None], *args: Any) -> bool:
        """A journal write the job's outcome must not wait for: a failure is logged, and the client still
        hears the outcome now (the journal then keeps the job as running, reported again on restart)."""
        try:
            write(*args)
            return True
        except JournalError as error:
            log.error("%s", error)
            return False
