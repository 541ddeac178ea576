"""Running a batch's units: in this process, or on a pool of Ray actors, and recording each take.

The driver alone writes the manifest: a unit's takes are recorded as its outcome arrives (written by the
driver first when the worker shipped them back). A unit whose worker is lost (its node died, its process
was killed) is sent again, to another worker, up to `retries` more times, then reported failed; a worker
that lands a take and dies before reporting it leaves a file the next try adopts. A job that fails on its
own (a bad clip, the engine refusing it) fails once, with its reason, and the other units go on.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...presets import PresetError
from ..cluster.connect import ClusterError, WorkerShape, first_line
from ..errors import BridgeError
from ..logs import where_logged
from .manifest import Manifest
from .plan import Unit
from .worker import BatchTake, TakeWorker, UnitOutcome, land

log = logging.getLogger(__name__)

WAIT_S = 1.0  # how often the Ray loop looks up from its wait (progress, start timeouts)


@dataclass
class Tally:
    """What a run did, take by take: for the progress line and the summary."""

    total: int  # takes this run must render (the list's takes less those already done)
    skipped: int = 0  # already in the manifest
    rendered: int = 0
    adopted: int = 0  # written by a lost worker, found and recorded
    retried: int = 0  # units sent again after their worker was lost
    failed: list[tuple[int, int, str]] = field(default_factory=list)  # (line, variation, reason)
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> int:
        return self.rendered + self.adopted + len(self.failed)


class Recorder:
    """Turns units' outcomes into manifest lines and the tally."""

    def __init__(self, manifest: Manifest, out: Path, tally: Tally, tick: Callable[[Tally], None]):
        self.manifest, self.out, self.tally, self.tick = manifest, out, tally, tick

    def outcome(self, unit: Unit, outcome: UnitOutcome) -> None:
        if outcome.error:
            if outcome.trace:
                log.error(
                    "line %d on %s: %s\n%s", unit.job.line, outcome.worker, outcome.error, outcome.trace
                )
            else:
                log.warning("line %d on %s: %s", unit.job.line, outcome.worker, outcome.error)
            self.fail(unit, outcome.error + (where_logged() if outcome.trace else ""))
            return
        for take in outcome.takes:
            try:
                landed = land(self.out, take) if take.data is not None else take
            except BridgeError as error:
                log.warning("line %d: %s", unit.job.line, error)
                self.fail(unit, str(error), only=take.key)
                continue
            self._record(unit, landed, outcome.worker, written_by="driver" if take.data else "worker")

    def _record(self, unit: Unit, take: BatchTake, worker: str, written_by: str) -> None:
        planned = next(item for item in unit.takes if item.key == take.key)
        self.manifest.record(
            {
                "take": take.key,
                "line": unit.job.line,
                "variation": planned.variation,
                "variations": planned.variations,
                "file": take.name,
                "sha256": take.sha256,
                "bytes": take.size,
                "duration_s": take.file.duration_s,
                "worker": worker,
                "written_by": written_by,
                "adopted": take.adopted,
                "job": unit.job_record,
                "provenance": take.file.provenance.to_dict() if take.file.provenance else {},
            }
        )
        if take.adopted:
            self.tally.adopted += 1
        else:
            self.tally.rendered += 1
        self.tick(self.tally)

    def fail(self, unit: Unit, reason: str, only: str | None = None) -> None:
        for take in unit.takes:
            if only is None or take.key == only:
                self.tally.failed.append((unit.job.line, take.variation, reason))
        self.tick(self.tally)


def run_local(
    units: list[Unit], worker: TakeWorker, request_of: Callable[[Unit], Any], recorder: Recorder
) -> None:
    """Every unit in turn on the one in-process worker (the model loaded once)."""
    for unit in units:
        try:
            request = request_of(unit)
        except (BridgeError, PresetError) as error:  # the clip changed or went away since planning
            recorder.fail(unit, str(error))
            continue
        recorder.outcome(unit, worker.render(unit, request))


@dataclass
class RayPool:
    """How the Ray path starts its actors: the worker's arguments, their shape, and the bounds."""

    worker_args: tuple[Any, ...]
    shape: WorkerShape
    retries: int = 2  # a unit is sent at most 1 + retries times when its workers are lost
    start_timeout_s: float = 300.0  # with no worker alive, how long to wait for one to start


def run_on_ray(
    ray: Any, units: list[Unit], pool: RayPool, request_of: Callable[[Unit], Any], recorder: Recorder
) -> None:
    """Every unit on a pool of Ray actors, each unit to the next free actor."""
    RayLoop(ray, units, pool, request_of, recorder).run()


class RayLoop:
    """The driver's side of a Ray batch: actors starting, idle or busy, and the units still to send."""

    def __init__(
        self,
        ray: Any,
        units: list[Unit],
        pool: RayPool,
        request_of: Callable[[Unit], Any],
        recorder: Recorder,
    ):
        from ray.exceptions import RayActorError, RayTaskError  # the optional extra, present once joined

        self.ray, self.units, self.pool, self.request_of, self.recorder = (
            ray,
            units,
            pool,
            request_of,
            recorder,
        )
        self.lost_errors = (RayActorError, ray.exceptions.ObjectLostError)
        self.task_error = RayTaskError  # what a worker's own exception arrives as
        self.remote_worker = ray.remote(TakeWorker).options(**pool.shape.options())
        self.starting: dict[Any, Any] = {}  # start() ref -> actor
        self.idle: list[Any] = []
        self.busy: dict[Any, tuple[Any, int]] = {}  # render() ref -> (actor, unit index)
        self.queue: deque[int] = deque(range(len(units)))
        self.lost = [0] * len(units)  # times each unit's worker was lost
        self.budget = pool.shape.workers * (pool.retries + 2)  # actors to start in all, replacements too
        self.alive_since = time.monotonic()  # when an actor was last known alive

    def run(self) -> None:
        for _ in range(self.pool.shape.workers):
            self.start_actor()
        try:
            while self.queue or self.busy:
                self.dispatch()
                if self.stranded():
                    for index in self.queue:
                        self.recorder.fail(self.units[index], "no Ray worker left to render it (see the log)")
                    return
                done, _ = self.ray.wait([*self.busy, *self.starting], num_returns=1, timeout=WAIT_S)
                for ref in done:
                    if ref in self.starting:
                        self.started(ref, self.starting.pop(ref))
                    else:
                        self.rendered(ref, *self.busy.pop(ref))
                if self.idle or self.busy:
                    self.alive_since = time.monotonic()
        finally:
            for actor in [*self.idle, *(actor for actor, _ in self.busy.values()), *self.starting.values()]:
                self.ray.kill(actor)

    def start_actor(self) -> None:
        if self.budget > 0:
            self.budget -= 1
            actor = self.remote_worker.remote(*self.pool.worker_args)
            self.starting[actor.start.remote()] = actor

    def dispatch(self) -> None:
        """Send the next units to the idle actors (an edit's clip is read now)."""
        while self.idle and self.queue:
            index = self.queue.popleft()
            try:
                request = self.request_of(self.units[index])
            except (BridgeError, PresetError) as error:  # the clip changed or went away since planning
                self.recorder.fail(self.units[index], str(error))
                continue
            actor = self.idle.pop()
            self.busy[actor.render.remote(self.units[index], request)] = (actor, index)

    def stranded(self) -> bool:
        """No actor alive, and none started within the timeout (or none left to start)."""
        if self.busy or self.idle:
            return False
        return not self.starting or time.monotonic() - self.alive_since > self.pool.start_timeout_s

    def started(self, ref: Any, actor: Any) -> None:
        try:
            facts = self.ray.get(ref)
        except self.task_error as error:  # the model would not load: the same on every worker
            cause = error.cause if isinstance(error.cause, BridgeError) else error
            raise ClusterError(f"a Ray worker could not start: {cause}") from None
        except self.lost_errors as error:
            log.warning("a Ray worker was lost while starting: %s", first_line(error))
            self.start_actor()
            return
        log.info("Ray worker %s ready (writes to --out itself: %s)", facts["worker"], facts["shared"])
        self.idle.append(actor)

    def rendered(self, ref: Any, actor: Any, index: int) -> None:
        unit = self.units[index]
        try:
            outcome = self.ray.get(ref)
        except self.lost_errors as error:
            self.lost[index] += 1
            tries = self.pool.retries + 1
            log.warning(
                "line %d: its Ray worker was lost (%d of %d tries): %s",
                unit.job.line, self.lost[index], tries, first_line(error),
            )  # fmt: skip
            if self.lost[index] >= tries:
                self.recorder.fail(unit, f"its Ray worker was lost on all {tries} tries (see the log)")
            else:
                self.recorder.tally.retried += 1
                self.queue.appendleft(index)
            self.start_actor()
            return
        self.idle.append(actor)
        self.recorder.outcome(unit, outcome)
