"""One planner for every surface: a JobSpec checked completely, without the model, into a Plan.

It does every check that needs no model (the spec's options, the tempo, the model's name, the effect
preset, the export, the input file's header and region, the output folder), so a bad job is refused
before it is accepted or queued; the runner (runner.py) does the work later, on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ...engine import EditRequest, GenerationRequest
from ...engine.clip import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Clip
from ...engine.limits import MAX_DURATION_S
from ...presets import PresetError, PresetLibrary, load_library
from ..daw.tempo import TempoState, tempo_from
from ..delivery.deliver import Delivery
from ..delivery.files import OutputError, check_writable
from ..errors import BridgeError
from .delivery import delivery_for
from .errors import BAD_PATH, BAD_VALUE, UNAVAILABLE, JobError
from .file_roots import FileRoots
from .spec import JobSpec

FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")  # input formats that can hold NaN or infinity: checked at planning
NAME_PATTERNS = {
    "generate": "{prompt}_{seed}_{variation}",
    "edit": "{input}_{operation}_{prompt}_{seed}_{variation}",
}


@dataclass(frozen=True)
class Plan:
    """A checked job: what to ask the engine and how to deliver it. The clip is read when it runs."""

    spec: JobSpec
    generation: GenerationRequest
    delivery: Delivery
    input_path: Path | None = None

    @property
    def model(self) -> str | None:
        """The job's `model`; None: whichever is loaded."""
        return self.spec.model

    def edit_request(self, clip: Clip) -> EditRequest:
        """The engine's request for an edit of `clip` (the planned region of the input, or its header)."""
        return self.spec.edit_request(clip, self.generation)

    def read_clip(self) -> Clip:
        """The input's region, decoded now (on the worker thread, just before the engine needs it)."""
        assert self.input_path is not None
        info = sf.info(str(self.input_path))
        start = round((self.spec.in_offset_s or 0.0) * info.samplerate)
        length_s = self.spec.in_length_s
        frames = round(length_s * info.samplerate) if length_s is not None else -1
        try:
            audio, rate = sf.read(str(self.input_path), frames, start, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as error:
            raise BridgeError(f"{self.input_path}: cannot decode the audio ({error})") from None
        if not np.isfinite(audio).all():
            raise BridgeError(f"{self.input_path}: the audio holds NaN or infinite samples")
        return Clip(audio, rate, str(self.input_path))


class JobPlanner:
    """Plans jobs against the file roots, the tempo, the preset library and the models a job may name."""

    def __init__(
        self,
        roots: FileRoots,
        tempo: TempoState,
        library: PresetLibrary | None = None,
        model_names: Callable[[], list[str]] | None = None,
        fx_file: str | None = None,
    ):
        """`fx_file`: an effect preset file the command line named (`batch --fx FILE`); a job's own `fx`
        names a preset, never a file, since a DAW or a job list could point it anywhere."""
        self.roots, self.tempo, self.fx_file = roots, tempo, fx_file
        self.library = library or load_library()
        self.model_names = model_names or (lambda: [])

    def plan(self, spec: JobSpec, request_id: str = "") -> Plan:
        """Check a job completely, without the model; JobError says what is wrong."""
        duration_s, length_s = spec.duration_s, None
        if spec.bars is not None or spec.beats is not None:
            tempo = self.tempo.current
            if spec.bpm is not None:  # the request's own tempo (a DAW sends its project's)
                tempo = tempo_from(spec.options(), tempo, "request")
            duration_s = length_s = tempo.seconds(spec.bars or 0.0, spec.beats or 0.0)
        generation = spec.generation(duration_s)  # what a job leaves out takes the engine's defaults
        if spec.model is not None and spec.model not in self.model_names():
            raise JobError(
                BAD_VALUE,
                f"unknown model {spec.model[:120]!r}; this bridge serves {', '.join(self.model_names())} "
                "(/soundloom/models lists them)",
                request_id,
            )
        fx = spec.fx or ""
        names_file = any(mark in fx for mark in ("/", "\\")) or fx.lower().endswith(".toml")
        if names_file and fx != self.fx_file:
            raise JobError(BAD_VALUE, f"fx names an effect preset, not a file: {fx[:80]!r}", request_id)
        pattern = NAME_PATTERNS["generate" if spec.operation == "generate" else "edit"]
        try:
            delivery = delivery_for(spec, self.library, pattern, length_s)
        except PresetError as error:
            raise JobError(BAD_VALUE, str(error), request_id) from None
        problems = delivery.problems()
        try:
            check_writable(self.roots.output)
        except OutputError as error:
            raise JobError(UNAVAILABLE, str(error), request_id) from None
        if spec.operation == "generate":
            problems += generation.problems()
            return self._checked(Plan(spec, generation, delivery), problems, request_id)
        input_path = self.roots.input_file(spec.input, request_id)
        plan = Plan(spec, generation, delivery, input_path)
        problems += plan.edit_request(self._clip_header(input_path, spec, request_id)).problems()
        return self._checked(plan, problems, request_id)

    @staticmethod
    def _checked(plan: Plan, problems: list[str], request_id: str) -> Plan:
        if problems:
            raise JobError(BAD_VALUE, "; ".join(problems), request_id)
        return plan

    @staticmethod
    def _clip_header(path: Path, spec: JobSpec, request_id: str) -> Clip:
        """A silent stand-in clip of the region's length and layout, from the header alone (cheap)."""
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError):
            raise JobError(
                BAD_PATH, f"{path}: not a readable audio file (WAV, AIFF or FLAC)", request_id
            ) from None
        if info.channels not in (1, 2) or not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
            raise JobError(  # the file is there and readable: its layout is what is refused
                BAD_VALUE,
                f"{path}: {info.channels} ch at {info.samplerate} Hz; mono/stereo, 8-192 kHz",
                request_id,
            )
        offset = round((spec.in_offset_s or 0.0) * info.samplerate)
        available = info.frames - offset
        wanted = round(spec.in_length_s * info.samplerate) if spec.in_length_s is not None else available
        if available <= 0 or wanted > available:
            raise JobError(
                BAD_VALUE,
                f"{path}: the region in_offset/in_length lies beyond its {info.duration:.3f} s",
                request_id,
            )
        if wanted / info.samplerate > MAX_DURATION_S * 2:  # extend works on a tail window of long clips
            raise JobError(
                BAD_VALUE, f"{path}: the region is longer than {MAX_DURATION_S * 2:g} s", request_id
            )
        if info.subtype in FLOAT_SUBTYPES and not _finite_region(path, offset, wanted):
            raise JobError(BAD_VALUE, f"{path}: the audio holds NaN or infinite samples", request_id)
        return Clip(np.zeros((max(wanted, 1), info.channels), np.float32), info.samplerate, str(path))


def _finite_region(path: Path, offset: int, frames: int) -> bool:
    """Whether a float file's region holds only finite samples, read in blocks (a region is at most
    twice MAX_DURATION_S, so this stays quick)."""
    for block in sf.blocks(str(path), blocksize=65536, start=offset, frames=frames, dtype="float32"):
        if not np.isfinite(block).all():
            return False
    return True
