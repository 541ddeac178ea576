"""A batch's job list: JSONL or CSV lines in, checked bridge commands out, every problem with its line.

A line is one job, in the bridge's own words: `command` (generate by default, or transfer, inpaint,
extend, vary), `prompt`, `input`, and any of the job options (`duration`, `seed`, `variations`, `steps`,
`guidance`, `negative`, `fx`, `rate`, `loudness`, ...; host_bridge/osc/PROTOCOL.md). Each becomes a
JobSpec checked by the jobs layer's own rules, so a batch refuses exactly what a DAW's request would be
refused, in the same words. A prompt preset with sweeps expands to one job per combination:

    {"preset": "Footsteps", "vars": {"surface": "*", "shoe": ["boots", "heels"]}, "variations": 20}

`"*"` takes every suggested value of that blank, a list those values, a string that one; blanks left out
take the preset's first suggestion. In CSV the header names the keys and `var:BLANK` columns the sweeps
(`*`, or values separated by `|`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...presets import PresetError, PresetLibrary
from ..errors import BridgeError
from ..jobs.errors import JobError
from ..jobs.options import JOB_KINDS, JOB_OPTIONS, NEEDS_INPUT, NEEDS_PROMPT, text_problem
from ..jobs.spec import JobSpec

JOB_KEYS = ("command", "prompt", "input", "preset", "vars")
# Options that mean nothing in a batch, and why (a line giving one is refused, not silently ignored).
NOT_IN_BATCH = {
    "model": "a batch renders with one model: give --model",
    "priority": "priority orders a bridge's queue; a batch has none",
    "reply_port": "a batch replies on the terminal",
    "preview": "previews are for auditioning one take in a DAW",
}
# A prompt preset's settings, by GenerationRequest field, as the job options that set them.
PRESET_OPTIONS = {
    "duration_s": "duration",
    "steps": "steps",
    "guidance_scale": "guidance",
    "variations": "variations",
    "sampler": "sampler",
    "loop": "loop",
}
LEVEL_KEYS = {"loudness", "peak"}  # one way to set a take's level: a job's own replaces the default's
SWEEP_ALL = "*"
CSV_VAR_PREFIX = "var:"
CSV_SEPARATOR = "|"
MAX_JOBS = 100_000  # expanded jobs in one list: a sweep that explodes is refused before planning


class JobListError(BridgeError):
    """The list cannot run as written: `problems` holds (line, reason) for every bad job."""

    def __init__(self, source: Path, problems: list[tuple[int, str]]):
        self.problems = sorted(problems, key=lambda problem: problem[0])
        line, reason = self.problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        where = f"line {line}: " if line else ""
        super().__init__(f"{source}: {where}{reason}{more}; nothing was rendered")

    def lines(self) -> list[str]:
        return [f"line {line}: {reason}" if line else reason for line, reason in self.problems]


@dataclass(frozen=True)
class BatchJob:
    """One job of the list, checked by the jobs layer: `line` is where it was written (1-based)."""

    line: int
    request_id: str  # "line N" (or "line N.K", the K-th job of a preset sweep): how the planner names it
    spec: JobSpec
    preset: str = ""  # the prompt preset it came from, if any
    vars: dict[str, str] = field(default_factory=dict)  # that preset's blanks, as filled


def read_job_list(
    path: Path, library: PresetLibrary, defaults: dict[str, Any] | None = None
) -> tuple[list[BatchJob], list[tuple[int, str]]]:
    """Every job of a JSONL or CSV file, expanded and parsed, and (line, reason) for every bad line.

    `defaults` are options for every job (the command line's `--loudness`, `--fx`, ...); a job's own
    value wins. A relative `input` is taken relative to the list's folder.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV may start with a BOM
    except (OSError, UnicodeDecodeError) as error:
        raise BridgeError(
            f"cannot read the job list {path}: {getattr(error, 'strerror', None) or error}"
        ) from None
    rows = _csv_rows(text) if path.suffix.lower() == ".csv" else _jsonl_rows(text)
    jobs: list[BatchJob] = []
    problems: list[tuple[int, str]] = []
    for line, row in rows:
        try:
            jobs += _jobs_of(line, row, path.parent, library, defaults or {})
        except (JobError, PresetError, LineError) as error:
            problems.append((line, getattr(error, "message", None) or str(error)))
        if len(jobs) > MAX_JOBS:
            problems.append((line, f"the list expands to more than {MAX_JOBS} jobs; split it"))
            break
    if not rows and not problems:
        problems.append((0, "the job list is empty"))
    return jobs, problems


class LineError(ValueError):
    """One line's problem (its number is added by the caller)."""


def _jsonl_rows(text: str) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):  # blank lines and # comments are skipped
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            rows.append((number, LineError(f"not JSON ({error.msg} at column {error.colno})")))
    return rows


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[tuple[int, Any]] = []
    for row in reader:
        line = reader.line_num  # the physical line where this row ended
        if None in row:
            rows.append((line, LineError(f"{len(row[None])} more cells than the header has columns")))
            continue
        if not any((value or "").strip() for value in row.values()):
            continue
        try:
            rows.append((line, _from_csv(row)))
        except LineError as error:
            rows.append((line, error))
    return rows


def _from_csv(row: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row as a JSON job: numbers typed by the option they fill, `var:BLANK` columns as sweeps."""
    job: dict[str, Any] = {}
    for column, cell in row.items():
        value = (cell or "").strip()
        if not value:
            continue
        key = column.strip()
        if key.startswith(CSV_VAR_PREFIX):
            blank = key[len(CSV_VAR_PREFIX) :].strip()
            values = value if value == SWEEP_ALL else [part.strip() for part in value.split(CSV_SEPARATOR)]
            job.setdefault("vars", {})[blank] = values
        elif key in JOB_OPTIONS and JOB_OPTIONS[key].kind is not str:
            try:
                job[key] = JOB_OPTIONS[key].kind(value)
            except ValueError:
                kind = "an integer" if JOB_OPTIONS[key].kind is int else "a number"
                raise LineError(f"{key} must be {kind}, got {value!r:.40}") from None
        else:
            job[key] = value
    return job


def _jobs_of(
    line: int, row: Any, folder: Path, library: PresetLibrary, defaults: dict[str, Any]
) -> list[BatchJob]:
    if isinstance(row, LineError):
        raise row
    if not isinstance(row, dict):
        raise LineError(f'a job is a JSON object ({{"prompt": ...}}), not {type(row).__name__}')
    for key in row:
        if key in NOT_IN_BATCH:
            raise LineError(f"{key}: {NOT_IN_BATCH[key]}")
        if key not in JOB_KEYS and key not in JOB_OPTIONS:
            known = ", ".join([*JOB_KEYS, *(k for k in JOB_OPTIONS if k not in NOT_IN_BATCH)])
            raise LineError(f"unknown key {str(key)[:40]!r} (known: {known})")
    kind = row.get("command", "generate")
    if kind not in JOB_KINDS:
        raise LineError(f"command must be one of {', '.join(JOB_KINDS)}, got {str(kind)[:40]!r}")
    options = {key: value for key, value in row.items() if key in JOB_OPTIONS}
    if "preset" not in row:
        if "vars" in row:
            raise LineError("vars fill a prompt preset's blanks; give preset too")
        return [BatchJob(line, f"line {line}", _spec(kind, row, _over(defaults, options), folder))]
    if kind != "generate":
        raise LineError(f"a prompt preset makes generate jobs, not {kind}")
    preset = library.prompt(_string(row, "preset"))
    jobs = []
    for index, values in enumerate(_sweep(row.get("vars", {}), preset.variables), start=1):
        fields = preset.request_fields(values)  # PresetError names an unknown blank
        from_preset = {PRESET_OPTIONS[key]: value for key, value in fields.items() if key in PRESET_OPTIONS}
        if "loop" in from_preset:
            from_preset["loop"] = int(from_preset["loop"])
        if fields.get("negative_prompt"):
            from_preset["negative"] = fields["negative_prompt"]
        if preset.fx:
            from_preset["fx"] = preset.fx
        # The preset's settings over the batch's defaults; the line's own keys over both.
        merged = _over(_over(defaults, from_preset), options)
        job = {**row, "prompt": row.get("prompt", fields["prompt"])}
        spec = _spec(kind, job, merged, folder)
        jobs.append(BatchJob(line, f"line {line}.{index}", spec, preset.name, values))
    return jobs


def _over(defaults: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """`options` over `defaults`; a level given either way (`loudness` or `peak`) replaces the other."""
    merged = dict(defaults)
    if LEVEL_KEYS & options.keys():
        for key in LEVEL_KEYS:
            merged.pop(key, None)
    return merged | options


def _sweep(vars_: Any, blanks: dict[str, tuple[str, ...]]) -> list[dict[str, str]]:
    """Every combination of the swept blanks' values, in the order the line gives them."""
    if not isinstance(vars_, dict):
        raise LineError('vars is an object of blank: "*" | value | [values]')
    choices: dict[str, list[str]] = {}
    for blank, wanted in vars_.items():
        if blank not in blanks:
            raise LineError(
                f"the preset has no blank {str(blank)[:40]!r} (blanks: {', '.join(blanks) or 'none'})"
            )
        if wanted == SWEEP_ALL:
            choices[blank] = list(blanks[blank])
        elif isinstance(wanted, str) and wanted.strip():
            choices[blank] = [wanted]
        elif isinstance(wanted, list) and wanted and all(isinstance(v, str) and v.strip() for v in wanted):
            choices[blank] = list(dict.fromkeys(wanted))
        else:
            raise LineError(f'vars.{blank} must be "*", a value, or a list of values')
    names = list(choices)
    return [
        dict(zip(names, combination, strict=True)) for combination in itertools.product(*choices.values())
    ]


def _spec(kind: str, row: dict[str, Any], options: dict[str, Any], folder: Path) -> JobSpec:
    """The job this line asks for, checked by the jobs layer's rules (the bridge's checks and words)."""
    path = ""
    if kind in NEEDS_INPUT:
        given = Path(_string(row, "input")).expanduser()
        path = str(given if given.is_absolute() else folder / given)
    elif "input" in row:
        raise LineError(f"{kind} takes no input")
    prompt = _string(row, "prompt") if kind in NEEDS_PROMPT else ""
    if kind not in NEEDS_PROMPT and "prompt" in row:
        raise LineError(f"{kind} takes no prompt (it follows the clip)")
    typed = {}
    for key, value in options.items():
        option = JOB_OPTIONS[key]
        if isinstance(value, bool) and option.kind is int:  # JSON's true/false for the 0/1 switches
            value = int(value)
        problem = option.problem(key, value) or (text_problem(key, value) if option.kind is str else None)
        if problem is not None:
            raise LineError(problem)
        typed[key] = option.kind(value)  # 5 and 5.0 are one duration: the take's key must not differ
    for name, text in (("prompt", prompt), ("input", path)):
        problem = text_problem(name, text)
        if problem is not None:
            raise LineError(problem)
    spec = JobSpec.from_options(kind, prompt, path, typed)
    problems = spec.problems()
    if problems:
        raise LineError("; ".join(problems))
    return spec


def _string(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LineError(f"{key} must be a non-empty string")
    return value
