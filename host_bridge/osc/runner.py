"""Turns a queued command into engine requests, runs them and delivers the files.

The bridge side of the boundary: it builds plain GenerationRequest/EditRequest objects and calls the
loaded engine's `generate`/`edit` (engine/api.py); it never touches the model's modules. `plan` does
every check that needs no model (options, the input file, the effect preset, the delivery), so a bad
request is refused before it is accepted; `run` does the work on the worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ...engine import EditRequest, GeneratedAudio, GenerationRequest
from ...engine.api import Engine
from ...engine.clip import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Clip
from ...engine.licence import Licence, licence_of
from ...engine.limits import MAX_DURATION_S
from ...presets import ExportSettings, PresetError, PresetLibrary, load_library
from ...presets.render import NO_CHAIN
from ..daw.tempo import TempoState, tempo_from
from ..delivery.deliver import Delivery, deliver
from ..delivery.files import OutputError, check_writable, slug, write_wav
from ..engine_loader import EngineLoader
from ..errors import BridgeError
from .file_roots import FileRoots
from .job import Job, ResultFile
from .protocol import (
    BAD_PATH,
    BAD_VALUE,
    EDIT_OPTIONS,
    GENERATION_OPTIONS,
    UNAVAILABLE,
    Command,
    ProtocolError,
)

log = logging.getLogger(__name__)

FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")  # input formats that can hold NaN or infinity: checked at planning
NAME_PATTERNS = {
    "generate": "{prompt}_{seed}_{variation}",
    "edit": "{input}_{operation}_{prompt}_{seed}_{variation}",
}


@dataclass(frozen=True)
class Plan:
    """A checked job: what to ask the engine and how to deliver it. The clip is read when it runs."""

    generation: GenerationRequest
    delivery: Delivery
    input_path: Path | None = None
    in_offset_s: float = 0.0
    in_length_s: float | None = None
    model: str | None = None  # the request's `model`; None: whichever is loaded


class EngineRunner:
    """Holds the loaded engine (engine/api.py's `Engine`: this process's model or a Ray pool) and the
    file roots.

    `load_model(name)` loads a model by name; `model_names()` are the names a request's `model` may pick
    (the bridge's models: what `serve --model` named, or the app's model list). One model is loaded at a
    time; a request naming another loads it in place of the current one.
    """

    def __init__(
        self,
        load_model: EngineLoader,
        model_name: str,
        roots: FileRoots,
        tempo: TempoState,
        library: PresetLibrary | None = None,
        model_names: Callable[[], list[str]] | None = None,
    ):
        self._load_model, self.model_name = load_model, model_name
        self.model_names = model_names or (lambda: [model_name])
        self.roots, self.tempo = roots, tempo
        self.library = library or load_library()
        self._model: Engine | None = None
        self._model_lock = threading.Lock()

    @property
    def model(self) -> Engine:
        with self._model_lock:
            if self._model is None:
                self._model = self._load_model(self.model_name)
            return self._model

    def use_model(self, name: str) -> None:
        """Load another model for the next job (the running one keeps the model it has)."""
        with self._model_lock:
            if name != self.model_name:
                self.model_name, self._model = name, None

    def model_licence(self, name: str) -> Licence:
        """What a model's card says of its licence: the loaded model's, or read from its folder or the
        Hugging Face cache without loading it (nothing is downloaded for this)."""
        model = self._model
        if name == self.model_name and isinstance(getattr(model, "licence", None), Licence):
            return model.licence
        return licence_of(name)

    def model_status(self) -> dict[str, Any] | None:
        """The loaded model's facts (`status()`), or None while none is loaded."""
        model = self._model  # no lock: it is held for the whole of a load, and a status line must not wait
        return model.status() if model is not None and hasattr(model, "status") else None

    def plan(self, command: Command) -> Plan:
        """Check a job command completely, without the model; ProtocolError says what is wrong."""
        options, request_id = command.options, command.request_id
        duration_s = options.get("duration")
        length_s = None
        if "bars" in options or "beats" in options:
            tempo = self.tempo.current
            if "bpm" in options:  # the request's own tempo (a DAW sends its project's)
                tempo = tempo_from(options, tempo, "request")
            duration_s = length_s = tempo.seconds(options.get("bars", 0.0), options.get("beats", 0.0))
        given = {field: options[key] for key, field in GENERATION_OPTIONS.items() if key in options}
        generation = GenerationRequest(  # what a request leaves out takes the engine's defaults
            prompt=command.prompt,
            duration_s=duration_s,
            loop=bool(options.get("loop", 0)),
            rerank=bool(options.get("rerank", 0)),
            **given,
        )
        model = options.get("model")
        if model is not None and model not in self.model_names():
            raise ProtocolError(
                BAD_VALUE,
                f"unknown model {model[:120]!r}; this bridge serves {', '.join(self.model_names())} "
                "(/soundloom/models lists them)",
                request_id,
            )
        fx = options.get("fx", "")
        if any(mark in fx for mark in ("/", "\\")) or fx.lower().endswith(".toml"):
            raise ProtocolError(BAD_VALUE, f"fx names an effect preset, not a file: {fx[:80]!r}", request_id)
        try:
            chain = self.library.effect(fx) if fx else NO_CHAIN
            export = ExportSettings(
                sample_rate=options.get("rate"),
                channels=options.get("channels", "same"),
                loudness_lufs=options.get("loudness"),
                peak_dbtp=options.get("peak"),
                bit_depth=options.get("bit_depth", "32f"),
                length_s=length_s,
            )
        except PresetError as error:
            raise ProtocolError(BAD_VALUE, str(error), request_id) from None
        delivery = Delivery(
            chain, export, NAME_PATTERNS["generate" if command.kind == "generate" else "edit"], keep_dry=True
        )
        problems = delivery.problems()
        try:
            check_writable(self.roots.output)
        except OutputError as error:
            raise ProtocolError(UNAVAILABLE, str(error), request_id) from None
        if command.kind == "generate":
            problems += generation.problems()
            return self._checked(Plan(generation, delivery, model=model), problems, request_id)
        input_path = self.roots.input_file(command.input, request_id)
        clip = self._clip_header(input_path, options, request_id)
        problems += self.edit_request(command, generation, clip).problems()
        plan = Plan(
            generation, delivery, input_path, options.get("in_offset", 0.0), options.get("in_length"), model
        )
        return self._checked(plan, problems, request_id)

    def run(
        self, job: Job, progress: Callable[[int, int], None], preview: Callable[[str, float], None]
    ) -> list[ResultFile]:
        # Planned again: the input file or the output folder may have changed while the job waited.
        plan = self.plan(job.command)
        if plan.model is not None:
            self.use_model(plan.model)
        model = self.model
        if plan.input_path is None:
            results = self._generate(job, plan, progress, preview)
        else:
            clip = self.read_clip(plan)
            results = model.edit(self.edit_request(job.command, plan.generation, clip), progress, job.cancel)
        delivered = deliver(results, self.roots.output, plan.delivery, planned=job.record_outputs)
        return [
            ResultFile(
                str(item.path), item.rendered.duration_s, item.rendered.sample_rate, item.provenance["seed"]
            )
            for item in delivered
        ]

    def _generate(
        self,
        job: Job,
        plan: Plan,
        progress: Callable[[int, int], None],
        preview: Callable[[str, float], None],
    ) -> list[GeneratedAudio]:
        model = self.model
        if not job.command.options.get("preview"):
            return model.generate(plan.generation, progress=progress, cancel=job.cancel)
        # OUTPUT/previews/SLUG-DIGEST.wav: a digest of the id, so two ids that slug alike never share it.
        digest = hashlib.sha1(job.request_id.encode("utf-8", "replace")).hexdigest()[:8]
        path = self.roots.output / "previews" / f"{slug(job.request_id, 40)}-{digest}.wav"

        def write(waveform: np.ndarray, fraction: float) -> None:
            # Over the job's last preview, atomically (a DAW playing it never reads half a file). One that
            # cannot be written is logged and skipped: the take matters, not its preview.
            try:
                path.parent.mkdir(exist_ok=True)
                write_wav(path, waveform, model.sample_rate, overwrite=True)
            except (OSError, OutputError) as error:
                log.warning("job %s: preview not written: %s", job.request_id, error)
                return
            preview(str(path), fraction)

        try:
            return model.generate(plan.generation, progress=progress, cancel=job.cancel, preview=write)
        finally:  # the take supersedes it: a preview lives until the job's done or error
            with contextlib.suppress(OSError):  # (on Windows a player may still hold it open)
                path.unlink(missing_ok=True)

    @staticmethod
    def _checked(plan: Plan, problems: list[str], request_id: str) -> Plan:
        if problems:
            raise ProtocolError(BAD_VALUE, "; ".join(problems), request_id)
        return plan

    @staticmethod
    def edit_request(command: Command, generation: GenerationRequest, clip: Clip) -> EditRequest:
        options = command.options
        given = {field: options[key] for key, field in EDIT_OPTIONS.items() if key in options}
        return EditRequest(command.kind, clip, generation, **given)

    @staticmethod
    def _clip_header(path: Path, options: dict[str, Any], request_id: str) -> Clip:
        """A silent stand-in clip of the region's length and layout, from the header alone (cheap)."""
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError):
            raise ProtocolError(
                BAD_PATH, f"{path}: not a readable audio file (WAV, AIFF or FLAC)", request_id
            ) from None
        if info.channels not in (1, 2) or not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
            raise ProtocolError(  # the file is there and readable: its layout is what is refused
                BAD_VALUE,
                f"{path}: {info.channels} ch at {info.samplerate} Hz; mono/stereo, 8-192 kHz",
                request_id,
            )
        offset = round(options.get("in_offset", 0.0) * info.samplerate)
        available = info.frames - offset
        wanted = round(options["in_length"] * info.samplerate) if "in_length" in options else available
        if available <= 0 or wanted > available:
            raise ProtocolError(
                BAD_VALUE,
                f"{path}: the region in_offset/in_length lies beyond its {info.duration:.3f} s",
                request_id,
            )
        if wanted / info.samplerate > MAX_DURATION_S * 2:  # extend works on a tail window of long clips
            raise ProtocolError(
                BAD_VALUE, f"{path}: the region is longer than {MAX_DURATION_S * 2:g} s", request_id
            )
        if info.subtype in FLOAT_SUBTYPES and not _finite_region(path, offset, wanted):
            raise ProtocolError(BAD_VALUE, f"{path}: the audio holds NaN or infinite samples", request_id)
        return Clip(np.zeros((max(wanted, 1), info.channels), np.float32), info.samplerate, str(path))

    @staticmethod
    def read_clip(plan: Plan) -> Clip:
        assert plan.input_path is not None
        info = sf.info(str(plan.input_path))
        start = round(plan.in_offset_s * info.samplerate)
        frames = round(plan.in_length_s * info.samplerate) if plan.in_length_s is not None else -1
        try:
            audio, rate = sf.read(str(plan.input_path), frames, start, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as error:
            raise BridgeError(f"{plan.input_path}: cannot decode the audio ({error})") from None
        if not np.isfinite(audio).all():
            raise BridgeError(f"{plan.input_path}: the audio holds NaN or infinite samples")
        return Clip(audio, rate, str(plan.input_path))


def _finite_region(path: Path, offset: int, frames: int) -> bool:
    """Whether a float file's region holds only finite samples, read in blocks (a region is at most
    twice MAX_DURATION_S, so this stays quick)."""
    for block in sf.blocks(str(path), blocksize=65536, start=offset, frames=frames, dtype="float32"):
        if not np.isfinite(block).all():
            return False
    return True
