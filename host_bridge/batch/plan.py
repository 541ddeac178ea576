"""From checked jobs to takes: each take's key, seed and file name, grouped into the units workers render.

A take's key is a digest of everything that makes its file (the job's command, prompt, input file, options
and render settings, the model, the seed and the variation), so the same list run again finds the same
keys in the manifest and renders only what is missing. A job without a seed gets one from that digest
(the same every run); take k of a job is its own request with seed + k - 1, so every file of a library is
remade by `soundloom generate PROMPT --seed N`. A job that asks to re-rank is one unit (its takes are
scored against each other); every other take is a unit of its own, the finest split a pool can balance.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ...engine import EditRequest, GenerationRequest
from ...engine.limits import NEW_SEEDS, SEED
from ...presets import PresetError
from ..delivery.deliver import Delivery, take_name
from ..delivery.provenance import Provenance
from ..jobs.errors import JobError
from ..jobs.planner import JobPlanner, Plan
from .job_list import BatchJob


@dataclass(frozen=True)
class Take:
    key: str
    line: int
    variation: int  # 1-based within its job
    variations: int
    seed: int  # the seed its request runs with
    name: str  # the file name planned for it in the output folder


@dataclass(frozen=True)
class Unit:
    """What one worker call renders: one take, or every take of a re-ranked job."""

    job: BatchJob
    plan: Plan  # the runner's plan: request (this unit's seed and variations), input, delivery
    delivery: Delivery
    takes: tuple[Take, ...]
    job_record: dict[str, Any]  # the job as the manifest keeps it

    def request(self) -> GenerationRequest | EditRequest:
        """The engine request; an edit's clip is read now, so a queued unit holds a path, not audio."""
        if self.plan.input_path is None:
            return self.plan.generation
        return self.plan.edit_request(self.plan.read_clip())


def plan_units(
    jobs: list[BatchJob], planner: JobPlanner, model: str, defaults: dict[str, Any]
) -> tuple[list[Unit], list[tuple[int, str]]]:
    """Plan every job with the bridge's planner (limits, input roots, effect presets, the input's header):
    the units, and (line, reason) for each job that fails. File names are chosen later (`name_takes`).

    `defaults` are the command line's render settings as JobSpec fields; a job's own win. Its effect
    chain is its own `fx`, or its preset's, else the command line's `--fx` (which may be a preset file).
    A batch keeps no dry takes: see README "Rendering libraries"."""
    units: list[Unit] = []
    problems: list[tuple[int, str]] = []
    occurrences: dict[str, int] = {}
    for job in jobs:
        spec = replace(
            job.spec, **{name: v for name, v in defaults.items() if getattr(job.spec, name) is None}
        )
        try:
            plan = planner.plan(spec, job.request_id)
        except (JobError, PresetError) as error:
            problems.append((job.line, getattr(error, "message", None) or str(error)))
            continue
        delivery = plan.delivery
        record = _job_record(job, plan, delivery, model)
        identity = json.dumps(record, sort_keys=True)
        occurrences[identity] = occurrences.get(identity, 0) + 1  # twin lines are twin jobs, not one
        seed = plan.generation.seed
        if seed is None:
            seed = _digest_int(f"{identity}#{occurrences[identity]}") % NEW_SEEDS
        record = {**record, "seed": seed, "occurrence": occurrences[identity]}
        units += _units(job, plan, delivery, record, seed)
    return units, problems


def _job_record(job: BatchJob, plan: Plan, delivery: Delivery, model: str) -> dict[str, Any]:
    spec = job.spec
    record: dict[str, Any] = {
        "command": spec.operation,
        "prompt": spec.prompt,
        "options": dict(sorted(spec.options().items())),
        "model": model,
        "fx": delivery.chain.to_dict() if delivery.chain.active else None,
        "export": delivery.export.to_dict(),
    }
    if plan.input_path is not None:  # the file as it is now: replacing it makes new takes
        stat = plan.input_path.stat()
        record["input"] = {"path": str(plan.input_path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if job.preset:
        record["preset"] = {"name": job.preset, "vars": job.vars}
    return record


def _units(job: BatchJob, plan: Plan, delivery: Delivery, record: dict[str, Any], seed: int) -> list[Unit]:
    generation = plan.generation
    count = generation.variations

    def take(variation: int, take_seed: int) -> Take:
        key = _digest(json.dumps({**record, "variation": variation}, sort_keys=True))[:24]
        return Take(key, job.line, variation, count, take_seed, "")

    if generation.rerank:
        whole = replace(plan, generation=replace(generation, seed=seed))
        takes = tuple(take(k, seed) for k in range(1, count + 1))
        return [Unit(job, whole, delivery, takes, record)]
    units = []
    for k in range(1, count + 1):
        take_seed = (seed + k - 1) % (int(SEED.high) + 1)
        one = replace(plan, generation=replace(generation, seed=take_seed, variations=1))
        units.append(Unit(job, one, delivery, (take(k, take_seed),), record))
    return units


def name_takes(units: list[Unit], out: Path, model: str, taken: set[str], ours: Any) -> list[Unit]:
    """Give each take of `units` a free file name in `out` from the delivery's pattern: not one `taken`
    (the manifest's files), not one of this run, and not an existing file unless `ours(path, key)` says a
    lost worker already wrote this very take there (then it is adopted, not written again)."""
    now = datetime.now().replace(microsecond=0)
    chosen = set(taken)
    named = []
    for unit in units:
        takes = []
        for take in unit.takes:
            made = Provenance(
                operation=unit.job.spec.operation,
                prompt=unit.job.spec.prompt or "",
                seed=take.seed,
                variation=take.variation,
                variations=take.variations,
                source_file=str(unit.plan.input_path or ""),
                model_id=model,
            )
            stem = take_name(unit.delivery, made, now)
            name, n = f"{stem}.wav", 2
            while name in chosen or (os.path.lexists(out / name) and not ours(out / name, take.key)):
                name, n = f"{stem}-{n}.wav", n + 1
            chosen.add(name)
            takes.append(replace(take, name=name))
        named.append(replace(unit, takes=tuple(takes)))
    return named


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest_int(text: str) -> int:
    return int(_digest(text)[:16], 16)
