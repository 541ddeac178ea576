"""What made a take: one frozen record, written as JSON into the WAV's iXML (wav_metadata.py), printed by
`soundloom info`, recorded in the batch manifest and read back by `fx apply` to re-render a take.

JSON read back is foreign input: another tool's iXML, an older or newer Soundloom, a hand edit.
`from_dict` takes a field only when its value has the field's type and sets the rest aside (named in
`ignored`) instead of failing on them; a dict without Soundloom's mark (`soundloom`, the version that
wrote it) is not provenance at all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ...engine import EditRequest, GeneratedAudio, GenerationRequest
from ...engine.default_model import default_model_folder
from ...engine.licence import Licence
from .wav_metadata import read_metadata, read_provenance


@dataclass(frozen=True)
class BatchMark:
    """Which batch take a file is: a file a lost worker wrote is recognised by it and adopted, not
    written a second time."""

    take: str  # the take key (host_bridge/batch/plan.py)
    line: int  # the job list's line
    variation: int
    of: int  # how many takes the line asked for

    @classmethod
    def from_dict(cls, data: Any) -> BatchMark | None:
        if not isinstance(data, dict) or not isinstance(data.get("take"), str):
            return None
        numbers = [data.get(key) for key in ("line", "variation", "of")]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            return None
        return cls(data["take"], *numbers)


@dataclass(frozen=True)
class Provenance:
    # What made the take: enough to make it again.
    operation: str = "generate"  # generate, transfer, inpaint, extend, vary; fx for a re-render
    prompt: str = ""
    negative_prompt: str = ""
    transcript: str = ""
    seed: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    sampler: str | None = None
    eta: float | None = None
    duration_s: float | None = None
    variation: int | None = None
    variations: int | None = None
    loop: bool = False
    rerank: bool = False
    score: float | None = None  # CLAP text-audio similarity, when the variations were re-ranked
    model_id: str | None = None  # 'default' for the built-in model
    licence: Licence | None = None  # the checkpoint's, from its model card (written when set)
    # An edit's clip and window: written for edits only (EDIT_KEYS).
    source_file: str | None = None
    strength: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    fade_s: float | None = None
    extend_s: float | None = None
    rendered_from: str | None = None  # fx apply: the file it re-rendered (written when set)
    batch: BatchMark | None = None  # written when set
    # What the render made: each render measures these anew (RENDER_KEYS).
    soundloom: str = ""  # the version that wrote the file; Soundloom's mark
    created: str = ""  # ISO date-time, seconds
    fx: dict[str, Any] | None = None  # the effect chain as presets write it (EffectChain.to_dict)
    export: dict[str, Any] | None = None  # ExportSettings.to_dict
    sample_rate: int | None = None
    channels: int | None = None
    loudness_lufs: float | None = None  # None: silence
    true_peak_dbtp: float | None = None
    dry_file: str | None = None  # the unprocessed take, relative to the file, when one was kept
    naming: dict[str, Any] | None = None  # the name pattern and UCS fields it was named with
    warnings: tuple[str, ...] = ()  # what the render warned of: near silence, a large normalisation gain
    ignored: tuple[str, ...] = field(default=(), compare=False)  # keys from_dict set aside (wrong type)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object a file carries (iXML USER) and the manifest records."""
        data = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "ignored"}
        data["licence"] = self.licence.to_dict() if self.licence is not None else None
        data["batch"] = asdict(self.batch) if self.batch is not None else None
        data["warnings"] = list(self.warnings)
        # Written only when set: an edit's keys, a re-render's source, a batch mark, and a licence (a file
        # Soundloom did not make has no model, so no licence is claimed for it).
        optional = [*(EDIT_KEYS if self.source_file is None else ()), "rendered_from", "batch", "licence"]
        return {key: value for key, value in data.items() if not (key in optional and value is None)}

    @classmethod
    def from_dict(cls, data: Any) -> Provenance | None:
        """The provenance a JSON object holds; None when it is not Soundloom's (no `soundloom` version)."""
        if not isinstance(data, dict) or not isinstance(data.get("soundloom"), str):
            return None
        values: dict[str, Any] = {}
        ignored = []
        for item in fields(cls):
            if item.name not in data or item.name == "ignored":
                continue
            value = _typed(item.name, str(item.type), data[item.name])
            if value is _WRONG:
                ignored.append(item.name)
            else:
                values[item.name] = value
        return cls(**values, ignored=tuple(ignored))

    def without_render(self) -> Provenance:
        """What made the take, without what a render made: the start of a re-render."""
        return replace(self, **{key: getattr(Provenance, key) for key in RENDER_KEYS}, ignored=())


EDIT_KEYS = ("source_file", "strength", "start_s", "end_s", "fade_s", "extend_s")
RENDER_KEYS = (
    "soundloom",
    "created",
    "fx",
    "export",
    "sample_rate",
    "channels",
    "loudness_lufs",
    "true_peak_dbtp",
    "dry_file",
    "naming",
    "warnings",
)
_WRONG = object()
_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict[str, Any]": (dict,),
}


def _typed(name: str, annotation: str, value: Any) -> Any:
    """`value` when it has the type `annotation` names (as the dataclass spells it), else _WRONG."""
    kinds = annotation.split(" | ")
    if value is None:
        return value if "None" in kinds else _WRONG
    if name == "licence":
        return Licence.from_dict(value) or _WRONG
    if name == "batch":
        return BatchMark.from_dict(value) or _WRONG
    if annotation == "tuple[str, ...]":  # a JSON list of strings
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return tuple(value) if ok else _WRONG
    if isinstance(value, bool) and "bool" not in kinds:  # JSON true is not the number 1 here
        return _WRONG
    if isinstance(value, float) and not math.isfinite(value):  # 1e999 reads as inf
        return _WRONG
    return value if any(isinstance(value, _KINDS.get(kind, ())) for kind in kinds) else _WRONG


def request_provenance(result: GeneratedAudio) -> Provenance:
    """What made this take: enough to regenerate it (prompt, seed, settings, model, edit parameters)."""
    request = result.request
    generation = request if isinstance(request, GenerationRequest) else request.generation
    made = Provenance(
        operation=request.operation if isinstance(request, EditRequest) else "generate",
        prompt=generation.prompt,
        negative_prompt=generation.negative_prompt,
        transcript=generation.transcript,
        seed=generation.seed,
        steps=generation.steps,
        guidance_scale=generation.guidance_scale,
        sampler=generation.sampler,
        eta=generation.eta,
        duration_s=generation.duration_s,
        variation=result.variation,
        variations=generation.variations,
        loop=generation.loop,
        rerank=generation.rerank,
        score=result.score,
        model_id=_model_name(result.model_id),
        licence=result.licence,
    )
    if not isinstance(request, EditRequest):
        return made
    return replace(
        made,
        source_file=request.clip.source,
        strength=request.strength,
        start_s=request.start_s,
        end_s=request.end_s,
        fade_s=request.fade_s,
        extend_s=request.extend_s,
    )


def _model_name(model_id: str) -> str:
    """'default' for the built-in model (its folder moves with the install), else the id as loaded."""
    try:
        if Path(model_id).resolve() == default_model_folder().resolve():
            return "default"
    except OSError:
        pass
    return model_id


def read_file_provenance(path: Path) -> Provenance | None:
    """The provenance in a WAV file's iXML; None for a file that is not ours, or not a readable WAV."""
    try:
        return Provenance.from_dict(read_provenance(read_metadata(path)))
    except (OSError, ValueError):
        return None
