"""`serve --ray`: the bridge's engine as a pool of Ray actors, each holding the model on its own GPU.

The pool keeps engine/api.py's `Engine` protocol (`generate`, `edit`, `sample_rate`, `licence`,
`status`), so the bridge keeps its protocol, journal, queue, planning and delivery unchanged: the bridge
reads the input clip and writes the takes; an actor only runs the engine. The queue runs one worker
thread per actor; each job takes a free actor, and while it runs the thread polls the actor for progress
and previews (streamed to the DAW as before) and passes `cancel` on to it. An actor that is lost mid-job
(its node died) is replaced, and the job runs again on another, at most `retries` more times, then fails.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from ...engine import EditRequest, GeneratedAudio, GenerationRequest
from ...engine.errors import EngineError, GenerationCancelled
from ...presets import PresetError
from ..engine_loader import model_loader
from ..errors import BridgeError
from ..jobs.runner import JobRunner
from .connect import ClusterError, WorkerShape, first_line

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often a running job's progress is asked for (and a cancel passed on)
ASK_TIMEOUT_S = 30.0  # a poll or a start that takes longer means the actor is gone
Progress = Callable[[int, int], None]
Preview = Callable[[np.ndarray, float], None]


class EngineActor:
    """Runs in a Ray actor: one model, one request at a time; `poll` and `cancel` are answered meanwhile
    (the actor is threaded: `max_concurrency` 3)."""

    def __init__(self, model: str, device: str, dtype: str, allow_pickle: bool):
        self.runner = JobRunner(model_loader(device, dtype, allow_pickle), model)  # loads in start()
        self._cancel = threading.Event()
        self._progress = (0, 0)
        self._preview: tuple[np.ndarray, float] | None = None

    def start(self) -> dict[str, Any]:
        model = self.runner.load()
        worker = f"{socket.gethostname()}:{os.getpid()}"
        return {
            "worker": worker,
            "sample_rate": model.sample_rate,
            "licence": model.licence,
            **(self.runner.model_status() or {}),
        }

    def run(self, request: GenerationRequest | EditRequest, preview: bool) -> tuple[str, Any]:
        """('done', results), ('cancelled', ''), ('refused', reason) or ('crashed', (reason, traceback))."""
        self._cancel, self._progress, self._preview = threading.Event(), (0, 0), None

        def progress(step: int, total: int) -> None:
            self._progress = (step, total)

        def shot(waveform: np.ndarray, fraction: float) -> None:
            self._preview = (waveform, fraction)

        try:
            return "done", self.runner.render(request, progress, self._cancel, shot if preview else None)
        except GenerationCancelled:
            return "cancelled", ""
        except (EngineError, BridgeError, PresetError) as error:
            return "refused", str(error)
        except Exception as error:
            return "crashed", (f"{type(error).__name__}: {error}", traceback.format_exc())

    def poll(self) -> tuple[tuple[int, int], tuple[np.ndarray, float] | None]:
        """(step, total) so far, and the preview made since the last poll, if any."""
        shot, self._preview = self._preview, None
        return self._progress, shot

    def cancel(self) -> None:
        self._cancel.set()


class LostWorker(Exception):
    """The actor running a job is gone (its process or node died)."""


class EnginePool:
    """`shape.workers` engine actors for one model; used by `shape.workers` queue threads at once."""

    def __init__(
        self, ray: Any, model: str, shape: WorkerShape, engine: tuple[str, str, bool], retries: int = 2
    ):
        """`engine`: (device, dtype, allow_pickle) for each actor's model."""
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError  # the extra, once joined

        self.ray, self.model_name, self.shape, self.retries = ray, model, shape, retries
        self._lost_errors = (RayActorError, GetTimeoutError, ray.exceptions.ObjectLostError)
        self._task_error = RayTaskError  # what an actor's own exception arrives as
        self._remote = ray.remote(EngineActor).options(max_concurrency=3, **shape.options())
        self._engine = engine
        self._free: queue.Queue[Any] = queue.Queue()
        starting = [self._new_actor() for _ in range(shape.workers)]
        facts = [self._started(actor, ref) for actor, ref in starting]
        ready = [fact for fact in facts if fact is not None]
        if not ready:
            raise ClusterError(f"no Ray worker could load {model}")
        self.facts = ready[0]
        self.sample_rate: int = self.facts["sample_rate"]
        self.licence = self.facts["licence"]
        log.info("engine pool for %s: %d of %d actors ready", model, len(ready), shape.workers)

    def status(self) -> dict[str, Any]:
        facts = {key: value for key, value in self.facts.items() if key not in ("worker", "licence")}
        return {**facts, "ray_workers": self.shape.workers}

    def generate(
        self,
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: Preview | None = None,
    ) -> list[GeneratedAudio]:
        return self._run(request, progress, cancel, preview)

    def edit(
        self, request: EditRequest, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> list[GeneratedAudio]:
        return self._run(request, progress, cancel, None)

    def _run(
        self, request: Any, progress: Progress | None, cancel: threading.Event | None, preview: Preview | None
    ) -> list[GeneratedAudio]:
        for attempt in range(1, self.retries + 2):
            actor = self._take()
            try:
                kind, value = self._on(actor, request, progress, cancel, preview)
            except LostWorker as error:
                log.warning(
                    "a Ray engine worker was lost (try %d of %d): %s", attempt, self.retries + 1, error
                )
                self._replace()
                continue
            self._free.put(actor)  # whatever became of the job, the actor is fine
            return _results(kind, value)
        raise BridgeError(
            f"its Ray worker was lost on all {self.retries + 1} tries; the job was not finished"
        )

    def _on(
        self,
        actor: Any,
        request: Any,
        progress: Progress | None,
        cancel: threading.Event | None,
        preview: Preview | None,
    ) -> tuple[str, Any]:
        """Run the request on `actor`, relaying progress, previews and a cancel until it ends: the
        actor's (kind, value). LostWorker when the actor is gone."""
        ray = self.ray
        try:
            ref = actor.run.remote(request, preview is not None)
            told_cancel, last = False, (0, 0)
            while True:
                done, _ = ray.wait([ref], timeout=POLL_S)
                if cancel is not None and cancel.is_set() and not told_cancel:
                    actor.cancel.remote()
                    told_cancel = True
                step, shot = ray.get(actor.poll.remote(), timeout=ASK_TIMEOUT_S)
                if step != last and step[1] and progress is not None:
                    progress(*step)
                    last = step
                if shot is not None and preview is not None:
                    preview(*shot)
                if done:
                    return ray.get(ref)
        except self._lost_errors as error:
            raise LostWorker(first_line(error)) from None

    def _take(self) -> Any:
        try:
            return self._free.get(timeout=ASK_TIMEOUT_S * 10)
        except queue.Empty:
            raise BridgeError("no Ray engine worker is free or could be started; see the log") from None

    def _new_actor(self) -> tuple[Any, Any]:
        actor = self._remote.remote(self.model_name, *self._engine)
        return actor, actor.start.remote()

    def _started(self, actor: Any, ref: Any) -> dict[str, Any] | None:
        """Wait for a new actor's model; it joins the free list. A model that will not load raises."""
        try:
            facts = self.ray.get(ref)
        except self._task_error as error:
            cause = error.cause if isinstance(error.cause, BridgeError) else error
            raise ClusterError(f"a Ray worker could not start: {cause}") from None
        except self._lost_errors as error:
            log.warning("a Ray engine worker was lost while starting: %s", error)
            return None
        log.info("Ray engine worker %s ready", facts["worker"])
        self._free.put(actor)
        return facts

    def _replace(self) -> None:
        """Start an actor in place of a lost one, in the background: it joins when its model is loaded
        (where the cluster has room; on a cluster that lost the node, perhaps never)."""
        actor, ref = self._new_actor()

        def wait() -> None:
            try:
                self._started(actor, ref)
            except ClusterError as error:
                log.error("%s", error)

        threading.Thread(target=wait, name="soundloom-ray-replace", daemon=True).start()


def _results(kind: str, value: Any) -> list[GeneratedAudio]:
    """An actor's outcome as a local engine's own: the results, or the exception the queue maps to a reply."""
    if kind == "done":
        return value
    if kind == "cancelled":
        raise GenerationCancelled("cancelled")
    if kind == "crashed":
        reason, trace = value
        log.error("a Ray engine worker failed: %s\n%s", reason, trace)
        raise BridgeError(f"the Ray worker failed: {reason}")
    raise BridgeError(value)
