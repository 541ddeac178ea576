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
from ..cluster.connect import ClusterError, WorkerShape
from ..errors import BridgeError
from ..logs import where_logged
from .manifest import Manifest
from .plan import Unit
from .worker import TakeFile, TakeWorker, UnitOutcome, land

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

    def _record(self, unit: Unit, take: TakeFile, worker: str, written_by: str) -> None:
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
                "duration_s": take.duration_s,
                "worker": worker,
                "written_by": written_by,
                "adopted": take.adopted,
                "job": unit.job_record,
                "provenance": take.provenance,
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
    remote_worker = ray.remote(TakeWorker).options(**pool.shape.options())
    from ray.exceptions import RayActorError, RayTaskError  # the optional extra, present once joined

    lost_errors = (RayActorError, ray.exceptions.ObjectLostError)
    starting: dict[Any, Any] = {}  # start() ref -> actor
    idle: list[Any] = []
    busy: dict[Any, tuple[Any, int]] = {}  # render() ref -> (actor, unit index)
    queue: deque[int] = deque(range(len(units)))
    lost = [0] * len(units)
    budget = pool.shape.workers * (pool.retries + 2)  # actors to start in all, replacements included
    alive_since = time.monotonic()

    def start_actor() -> None:
        nonlocal budget
        if budget > 0:
            budget -= 1
            actor = remote_worker.remote(*pool.worker_args)
            starting[actor.start.remote()] = actor

    for _ in range(pool.shape.workers):
        start_actor()
    try:
        while queue or busy:
            while idle and queue:
                index = queue.popleft()
                try:
                    request = request_of(units[index])
                except (BridgeError, PresetError) as error:
                    recorder.fail(units[index], str(error))
                    continue
                actor = idle.pop()
                busy[actor.render.remote(units[index], request)] = (actor, index)
            if (
                not busy
                and not idle
                and (not starting or time.monotonic() - alive_since > pool.start_timeout_s)
            ):
                for index in queue:
                    recorder.fail(units[index], "no Ray worker left to render it (see the log)")
                return
            done, _ = ray.wait([*busy, *starting], num_returns=1, timeout=WAIT_S)
            for ref in done:
                if ref in starting:
                    actor = starting.pop(ref)
                    try:
                        facts = ray.get(ref)
                    except RayTaskError as error:  # the model would not load: the same on every worker
                        cause = error.cause if isinstance(error.cause, BridgeError) else error
                        raise ClusterError(f"a Ray worker could not start: {cause}") from None
                    except lost_errors as error:
                        log.warning("a Ray worker was lost while starting: %s", _first_line(error))
                        start_actor()
                        continue
                    log.info(
                        "Ray worker %s ready (writes to --out itself: %s)", facts["worker"], facts["shared"]
                    )
                    idle.append(actor)
                    continue
                actor, index = busy.pop(ref)
                unit = units[index]
                try:
                    outcome = ray.get(ref)
                except lost_errors as error:
                    lost[index] += 1
                    log.warning(
                        "line %d: its Ray worker was lost (%d of %d tries): %s",
                        unit.job.line,
                        lost[index],
                        pool.retries + 1,
                        _first_line(error),
                    )
                    if lost[index] > pool.retries:
                        recorder.fail(
                            unit, f"its Ray worker was lost on all {lost[index]} tries (see the log)"
                        )
                    else:
                        recorder.tally.retried += 1
                        queue.appendleft(index)
                    start_actor()
                    continue
                idle.append(actor)
                alive_since = time.monotonic()
                recorder.outcome(unit, outcome)
            if idle or busy:
                alive_since = time.monotonic()
    finally:
        for actor in [*idle, *(actor for actor, _ in busy.values()), *starting.values()]:
            ray.kill(actor)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
