"""`JobSpec`: one job, typed, whatever surface asked for it (a DAW over OSC, the command line, the app, a
batch line). Every surface builds a JobSpec and nothing else; the planner (planner.py) turns it into
engine requests and a delivery, and the runner (runner.py) runs it.

A field left None was not given: the engine's defaults (engine/limits.py) and the planner's apply. The
wire form is `options()`, the key/value pairs of the OSC protocol and job lists (options.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...engine import Clip, EditRequest, GenerationRequest
from ...engine.limits import DURATION_S, FADE_S, GENERATION_LIMITS, STRENGTH
from .options import BEAT_UNITS, FLAGS, JOB_KINDS, JOB_OPTIONS, NEEDS_INPUT, NEEDS_PROMPT

# The GenerationRequest fields a spec passes on as they are (the length is resolved by the planner).
REQUEST_FIELDS = [limit.field for limit in GENERATION_LIMITS if limit is not DURATION_S]
REQUEST_FIELDS += ["negative_prompt", "transcript"]


@dataclass(frozen=True)
class JobSpec:
    operation: str  # generate, transfer, inpaint, extend or vary
    prompt: str = ""
    input: str = ""  # the clip an edit works on, as the surface named it
    # Length (generate): seconds, or bars and beats at a tempo (the request's own, else the bridge's).
    duration_s: float | None = None
    bars: float | None = None
    beats: float | None = None
    bpm: float | None = None
    beats_per_bar: int | None = None
    beat_unit: int | None = None
    # The engine request.
    negative_prompt: str | None = None
    transcript: str | None = None
    seed: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    sampler: str | None = None
    eta: float | None = None
    variations: int | None = None
    loop: bool | None = None
    rerank: bool | None = None
    # Edits: transfer's strength, inpaint's region, extend's seconds, and where in the input to read.
    strength: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    fade_s: float | None = None
    extend_s: float | None = None
    in_offset_s: float | None = None
    in_length_s: float | None = None
    # Delivery: the effect preset ("none": no effects; from the command line also a preset .toml file) and
    # the export. The ones with an OSC key are in options.py; the rest are the command line's and batch's.
    fx: str | None = None
    rate: int | None = None
    channels: str | None = None
    loudness: float | None = None
    peak: float | None = None
    bit_depth: str | None = None
    stereo_mode: str | None = None
    ceiling_dbtp: float | None = None
    fade_in_s: float | None = None
    fade_out_s: float | None = None
    # Naming in an output folder, and whether the dry take is kept (None: the Delivery's defaults).
    name_pattern: str | None = None
    catid: str | None = None
    creator: str | None = None
    source: str | None = None
    keep_dry: bool | None = None
    # Which model, and whether rough previews are heard while the first take is denoised.
    model: str | None = None
    preview: bool | None = None

    @classmethod
    def from_options(cls, operation: str, prompt: str, input: str, options: dict[str, Any]) -> JobSpec:
        """A spec from the wire's key/value pairs (already type-checked by the OSC parser or a job list)."""
        given = {JOB_OPTIONS[key].field: value for key, value in options.items() if key in JOB_OPTIONS}
        for flag in FLAGS:
            if flag in given:
                given[flag] = bool(given[flag])
        return cls(operation, prompt, input, **given)

    def options(self) -> dict[str, Any]:
        """The set fields as the wire's key/value pairs, in the options table's order (flags as 0/1)."""
        pairs = {}
        for key, option in JOB_OPTIONS.items():
            value = getattr(self, option.field)
            if value is not None:
                pairs[key] = int(value) if key in FLAGS else value
        return pairs

    def generation(self, duration_s: float | None) -> GenerationRequest:
        """The engine's request for this job, its length already resolved (bars and beats need a tempo)."""
        given = {name: getattr(self, name) for name in REQUEST_FIELDS if getattr(self, name) is not None}
        return GenerationRequest(
            prompt=self.prompt, duration_s=duration_s, loop=bool(self.loop), rerank=bool(self.rerank), **given
        )

    def edit_request(self, clip: Clip, generation: GenerationRequest) -> EditRequest:
        """The engine's request for this edit of `clip`, with `generation` (see `generation`)."""
        return EditRequest(
            self.operation,
            clip,
            generation,
            strength=self.strength if self.strength is not None else STRENGTH.default,
            start_s=self.start_s,
            end_s=self.end_s,
            fade_s=self.fade_s if self.fade_s is not None else FADE_S.default,
            extend_s=self.extend_s,
        )

    def problems(self) -> list[str]:
        """Every reason this spec cannot run that needs nothing outside it (no file, model or tempo), as
        sentences for people; the planner adds what the input file, the presets and the model say."""
        if self.operation not in JOB_KINDS:
            return [f"unknown operation {self.operation!r}: one of {', '.join(JOB_KINDS)}"]
        found = []
        for key, value in self.options().items():
            problem = JOB_OPTIONS[key].problem(key, value)
            if problem is not None:
                found.append(problem)
        kind = self.operation
        if kind in NEEDS_PROMPT and not self.prompt.strip():
            found.append("the prompt is empty")
        if kind in NEEDS_INPUT and not self.input.strip():
            found.append("the input path is empty")
        if kind not in NEEDS_INPUT and self.input:
            found.append(f"{kind} takes no input")
        found += self.shape_problems()
        return found

    def shape_problems(self) -> list[str]:
        """Which options go together: one way to give a length, an edit's required region or seconds."""
        kind, found = self.operation, []
        if self.duration_s is not None and (self.bars is not None or self.beats is not None):
            found.append("give duration, or bars/beats, not both")
        if kind != "generate" and any(v is not None for v in (self.duration_s, self.bars, self.beats)):
            found.append(f"{kind}: the input clip sets the length")
        if kind == "inpaint" and (self.start_s is None or self.end_s is None):
            found.append("inpaint needs start and end (seconds)")
        if kind == "extend" and self.extend_s is None:
            found.append("extend needs seconds (how much to add)")
        if self.beat_unit is not None and self.beat_unit not in BEAT_UNITS:
            found.append(beat_unit_problem(self.beat_unit))
        if kind != "generate" and self.preview:
            found.append(f"{kind}: previews are made for generate only")
        return found


def beat_unit_problem(beat_unit: int) -> str:
    units = ", ".join(map(str, BEAT_UNITS))
    return f"beat_unit is a time signature's denominator ({units}), got {beat_unit}"
