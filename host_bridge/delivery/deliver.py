"""From engine results to files a sound designer drags into a timeline: render (effects, rate, layout,
loudness), sortable names, provenance chunks, atomic writes that never replace anything, and the dry take
kept beside them so a chain can be re-applied later without regenerating.
"""

from __future__ import annotations

import contextlib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ...engine import GeneratedAudio, read_clip
from ...engine.limits import MAX_DURATION_S
from ...presets import EffectChain, ExportSettings, RenderedAudio, render
from ...presets.render import NO_CHAIN
from ..home import soundloom_version
from .files import OutputError, plan_outputs, slug, trim_words, wav_bytes, write_file, write_wav
from .provenance import Provenance, read_file_provenance, request_provenance
from .take_file import TakeFile
from .wav_metadata import BEXT_DESCRIPTION, with_provenance

NAME_FIELDS = (
    "prompt",  # the prompt, lower case with underscores
    "seed",
    "variation",
    "date",  # YYYYMMDD
    "time",  # HHMMSS
    "operation",  # generate, transfer, inpaint, extend, vary, fx
    "input",  # the edited clip's file name (edits)
    "fx",  # the effect preset
    "model",
    "catid",  # Universal Category System: CatID (e.g. WHSH, DOORWood), FXName, CreatorID, SourceID
    "fxname",
    "creator",
    "source",
)
UCS_PATTERN = "{catid}_{fxname}_{creator}_{source}"
DRY_FOLDER = "dry"


class DryTakeMissing(OutputError):
    """A Soundloom file names the dry take it was rendered from, and that take is gone."""


@dataclass(frozen=True)
class Delivery:
    """Everything between a result and its file. `name_pattern` applies when the output is a folder."""

    chain: EffectChain = NO_CHAIN
    export: ExportSettings = field(default_factory=ExportSettings)
    name_pattern: str = "{prompt}_{seed}_{variation}"
    catid: str = ""
    creator: str = "SL"
    source: str = "Soundloom"
    keep_dry: bool = True  # write the unprocessed take under dry/ when the render changes it

    def problems(self) -> list[str]:
        found = self.export.problems()
        pattern = UCS_PATTERN if self.name_pattern.upper() == "UCS" else self.name_pattern
        if any(separator in pattern for separator in "/\\"):
            found.append(f"the name pattern {pattern!r} must not contain folder separators")
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
        except ValueError as error:
            return [*found, f"the name pattern {pattern!r} is malformed ({error})"]
        for name in fields:
            if name not in NAME_FIELDS:
                found.append(f"unknown name field {{{name}}} (known: {', '.join(NAME_FIELDS)})")
        if "catid" in fields and not re.fullmatch(r"[A-Z]{2,}[A-Za-z]*", self.catid):
            found.append(f"a UCS name needs a CatID like WHSH or DOORWood (--catid), got {self.catid!r}")
        return found

    @property
    def changes_audio(self) -> bool:
        """False when the render would hand back the dry take as it is (no dry copy needed then)."""
        return bool(self.chain.active) or self.export != ExportSettings()


@dataclass(frozen=True)
class DeliveredFile:
    """A take a delivery wrote: its record, and the render (the audio, and what it measured and noticed)."""

    take: TakeFile
    rendered: RenderedAudio
    dry_path: Path | None = None  # the unprocessed take kept beside it (dry/), when the render changed it


# Called with the [take, dry take or None] paths a delivery will write, before it writes any of them.
OutputsPlanned = Callable[[list[list[str | None]]], None]


def deliver(
    results: list[GeneratedAudio],
    out: Path,
    delivery: Delivery,
    overwrite: bool = False,
    planned: OutputsPlanned | None = None,
) -> list[DeliveredFile]:
    """Render and write each result; `out` is a .wav file (one result, or out_1.wav ...) or a folder."""
    takes = [(request_provenance(result), result.audio, result.sample_rate) for result in results]
    return write_takes(takes, out, delivery, overwrite, planned)


def write_takes(
    takes: list[tuple[Provenance, np.ndarray, int]],
    out: Path,
    delivery: Delivery,
    overwrite: bool,
    planned: OutputsPlanned | None = None,
) -> list[DeliveredFile]:
    """Render each (what made it, dry audio, sample rate) take; write it with its provenance chunks.

    All or nothing: if any file fails (a full disk), every file this call wrote is removed again.
    """
    now = datetime.now().replace(microsecond=0)
    renders = [
        render(audio, rate, delivery.chain, delivery.export, loop=made.loop) for made, audio, rate in takes
    ]
    names = [take_name(delivery, made, now) for made, _, _ in takes]
    paths = plan_outputs(out, len(takes), names, overwrite)
    keep_dry = delivery.keep_dry and delivery.changes_audio
    dry_paths = [
        plan_outputs(path.parent / DRY_FOLDER, 1, [f"{path.stem}.dry"], create=True)[0] if keep_dry else None
        for path in paths
    ]
    if planned is not None:
        planned([[str(path), str(dry) if dry else None] for path, dry in zip(paths, dry_paths, strict=True)])
    written: list[Path] = []
    try:
        return [
            _write_take(take, rendered, path, dry_path, delivery, overwrite, now, written)
            for take, rendered, path, dry_path in zip(takes, renders, paths, dry_paths, strict=True)
        ]
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def _write_take(
    take: tuple[Provenance, np.ndarray, int],
    rendered: RenderedAudio,
    path: Path,
    dry_path: Path | None,
    delivery: Delivery,
    overwrite: bool,
    now: datetime,
    written: list[Path],
) -> DeliveredFile:
    made, dry_audio, dry_rate = take
    if dry_path is not None:
        written.append(write_wav(dry_path, dry_audio, dry_rate))
    dry_file = str(dry_path.relative_to(path.parent)) if dry_path else made.dry_file
    data, provenance = encode_take(made, rendered, delivery, now, dry_file)
    written.append(write_file(path, data, overwrite))
    record = TakeFile(str(path), rendered.duration_s, rendered.sample_rate, provenance.seed, provenance)
    return DeliveredFile(record, rendered, dry_path)


def encode_take(
    made: Provenance,
    rendered: RenderedAudio,
    delivery: Delivery,
    now: datetime,
    dry_file: str | None = None,
) -> tuple[bytes, Provenance]:
    """A rendered take as the bytes of its WAV file, provenance chunks included, and that provenance."""
    provenance = replace(
        made,
        soundloom=soundloom_version(),
        created=now.isoformat(),
        fx=delivery.chain.to_dict() if delivery.chain.active else None,
        export=delivery.export.to_dict(),
        sample_rate=rendered.sample_rate,
        channels=rendered.audio.shape[1],
        loudness_lufs=_finite(rendered.loudness_lufs),
        true_peak_dbtp=_finite(rendered.true_peak_dbtp),
        dry_file=dry_file,
        naming={
            "pattern": delivery.name_pattern,
            "catid": delivery.catid,
            "creator": delivery.creator,
            "source": delivery.source,
        },
        warnings=tuple(rendered.warnings),
    )
    history = _coding_history(provenance, delivery, rendered)
    wav = wav_bytes(rendered.audio, rendered.sample_rate, delivery.export.bit_depth)
    return with_provenance(wav, provenance.to_dict(), summary(provenance), history), provenance


def _finite(value: float) -> float | None:
    """JSON has no -inf: silence measures as None."""
    return round(value, 2) if np.isfinite(value) else None


def summary(provenance: Provenance) -> str:
    """One line for bext's description and INFO's comment: what a library browser shows. The prompt is
    shortened, never the rest, so the licence always fits bext's 256 characters."""
    parts = []
    if provenance.seed is not None:
        parts.append(f"seed {provenance.seed}")
    if provenance.steps:
        parts.append(f"{provenance.steps} steps {provenance.sampler} cfg {provenance.guidance_scale or 0:g}")
    if provenance.model_id:
        parts.append(provenance.model_id[-80:])
    fx_name = (provenance.fx or {}).get("name")
    if fx_name:
        parts.append(f"fx {str(fx_name)[:40]}")
    if provenance.licence is not None:
        parts.append(f"licence {provenance.licence.label}")
    rest = "".join(f" | {part}" for part in parts)
    head = provenance.prompt or provenance.operation
    room = BEXT_DESCRIPTION - len(rest)
    return (head if len(head) <= room else head[: max(room - 3, 0)] + "...") + rest


def _coding_history(provenance: Provenance, delivery: Delivery, rendered: RenderedAudio) -> str:
    bits = {"16": "16", "24": "24", "32f": "32"}[delivery.export.bit_depth]
    mode = "mono" if rendered.audio.shape[1] == 1 else "stereo"
    fx = f"; fx {delivery.chain.name}" if delivery.chain.active else ""
    return (
        f"A=PCM,F={rendered.sample_rate},W={bits},M={mode},"
        f"T=Soundloom {provenance.soundloom}; {provenance.operation}; {provenance.model_id}{fx}"
    )


def take_name(delivery: Delivery, made: Provenance, now: datetime) -> str:
    """The file stem for one take, from the delivery's pattern."""
    pattern = UCS_PATTERN if delivery.name_pattern.upper() == "UCS" else delivery.name_pattern
    words = re.findall(r"[A-Za-z0-9]+", made.prompt)
    fxname = trim_words(" ".join(word.capitalize() for word in words), 25) or made.operation.capitalize()
    if pattern == UCS_PATTERN and (made.variations or 1) > 1 and made.variation is not None:
        # UCS libraries number a set of takes inside FXName, from the first: "Door Slam 01", "Door Slam 02"
        fxname = f"{trim_words(fxname, 22)} {made.variation:02d}"
    fields = {
        "prompt": slug(made.prompt) if made.prompt else "",
        "seed": made.seed,
        "variation": made.variation,
        "date": now.strftime("%Y%m%d"),
        "time": now.strftime("%H%M%S"),
        "operation": made.operation,
        "input": Path(made.source_file or made.rendered_from or "").stem,
        "fx": slug(delivery.chain.name) if delivery.chain.active else "",
        "model": slug(Path(made.model_id or "").name),
        "catid": delivery.catid,
        "fxname": fxname,
        "creator": delivery.creator,
        "source": delivery.source,
    }
    text = pattern.format(**{key: "" if value is None else str(value) for key, value in fields.items()})
    text = re.sub(r'[\x00-\x1f<>:"/\\|?*]', "", text)  # what no file system accepts
    text = re.sub(r"_{2,}", "_", text).strip(" ._-")
    return text or "sound"


def rerender(
    source: Path,
    out: Path,
    delivery: Delivery,
    as_is: bool = False,
    overwrite: bool = False,
    log: Callable[[str], Any] = lambda line: None,
) -> list[DeliveredFile]:
    """Render a file through `delivery`. A Soundloom file whose provenance names its dry take is
    re-rendered from that take (the chain it already has is replaced, not stacked); any other file, or
    any file with `as_is`, is the dry itself. The source is never written.
    """
    if out.resolve() == source.resolve():
        raise OutputError(f"{out} is the input; user audio is never overwritten")
    provenance = read_file_provenance(source)
    dry = source
    if provenance is None:
        made = Provenance(operation="fx")
    elif as_is:  # the file itself is the dry take; the model that made it, and its licence, still hold
        made = Provenance(operation="fx", model_id=provenance.model_id, licence=provenance.licence)
    else:
        made = provenance.without_render()
        # A relative dry_file is relative to the take's folder (an absolute one stays as it is); a take
        # with none is its own dry (the source path is never joined onto its own folder again).
        dry = source.parent / provenance.dry_file if provenance.dry_file else source
    if dry.resolve() != source.resolve():
        if not dry.is_file():
            raise DryTakeMissing(
                f"{source} was rendered from the dry take {dry}, which is missing; "
                "render the file itself instead"
            )
        log(f"re-rendering the dry take {dry}, not {source} itself\n")
    clip = read_clip(dry, MAX_DURATION_S)  # the source itself when it names no dry take
    made = replace(made, rendered_from=str(source.resolve()), dry_file=str(dry.resolve()))
    return write_takes([(made, clip.audio, clip.sample_rate)], out, delivery, overwrite)
