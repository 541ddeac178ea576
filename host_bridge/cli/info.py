"""`soundloom info`: a WAV's format, loudness and Soundloom provenance, and the command line that makes
the take again (`regenerate_command`): the same request, effect chain, export settings and name pattern."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

import soundfile

from ...engine.clip import file_problem
from ...engine.limits import ETA, EXTEND_S, FADE_S, GUIDANCE_SCALE, SAMPLER, SEED, STEPS, STRENGTH, VARIATIONS
from ...presets.file_meter import measure_file
from ...presets.render import ExportSettings
from ..delivery.files import OutputError
from ..delivery.provenance import Provenance
from ..delivery.wav_metadata import read_bext, read_metadata, read_provenance
from .render import EXPORT_FLAGS, NAMING_FLAGS

# What `info` prints of a provenance, in this order (empty values are left out).
SHOWN = (
    "operation",
    "prompt",
    "negative_prompt",
    "transcript",
    "seed",
    "steps",
    "guidance_scale",
    "sampler",
    "eta",
    "duration_s",
    "variation",
    "variations",
    "loop",
    "rerank",
    "score",
    "model_id",
    "source_file",
    "strength",
    "start_s",
    "end_s",
    "fade_s",
    "extend_s",
    "rendered_from",
    "dry_file",
    "created",
)
EDITS_WITH_PROMPT = ("transfer", "inpaint", "extend")


def register(commands: argparse._SubParsersAction) -> None:
    info = commands.add_parser("info", help="a WAV's format, loudness and Soundloom provenance")
    info.set_defaults(run=run_info)
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="print the provenance as JSON")


def run_info(args: argparse.Namespace) -> int:
    """Headers and metadata chunks are read whole, the audio in blocks: a WAV of any size is fine."""
    problem = file_problem(args.file)  # before opening: a FIFO would block the read
    if problem is not None:
        raise OutputError(f"{args.file}: {problem}")
    try:
        data = read_metadata(args.file)
        info = soundfile.info(str(args.file))
    except OSError as error:
        raise OutputError(f"{args.file}: cannot read ({error.strerror})") from None
    except (ValueError, soundfile.LibsndfileError, RuntimeError):
        raise OutputError(f"{args.file}: not a WAV file") from None
    provenance = Provenance.from_dict(read_provenance(data))
    if args.json:
        print(json.dumps(provenance.to_dict() if provenance else None, indent=2, ensure_ascii=False))
        return 0 if provenance else 1
    print(f"file         {args.file}")
    print(
        f"format       {info.subtype_info}, {info.samplerate} Hz, {info.channels} ch, {info.duration:.3f} s"
    )
    try:
        loudness_lufs, peak_dbtp = measure_file(args.file)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise OutputError(f"{args.file}: cannot decode the audio ({error})") from None
    print(f"level        {loudness_lufs:.1f} LUFS integrated, true peak {peak_dbtp:.1f} dBTP")
    bext = read_bext(data)
    if bext:
        print(f"bext         {bext['description']}")
        print(f"history      {bext['coding_history'].strip()}")
    if not provenance:
        print("provenance   none (not written by Soundloom)")
        return 0
    for key in SHOWN:
        value = getattr(provenance, key)
        if value not in (None, ""):
            print(f"{key:<12} {value}")
    licence = provenance.licence
    if licence is not None:
        print(f"licence      {licence.label}" + (f"  {licence.link}" if licence.link else ""))
        if licence.noncommercial:
            print(f"             {licence.evidence}")
    if provenance.fx:
        print(f"fx           {_chain_line(provenance.fx)}")
    for warning in provenance.warnings:
        print(f"warning      {warning}")
    command = regenerate_command(provenance, args.file.resolve().parent)
    if command:
        print(f"regenerate   {command}")
    if provenance.ignored:
        print(f"ignored      {', '.join(provenance.ignored)} (not of the type Soundloom writes)")
    return 0


def _chain_line(fx: dict[str, Any]) -> str:
    """'name: Type, Type (tail keep)' from a chain as provenance holds it; odd entries are skipped."""
    effects = fx.get("effect") if isinstance(fx.get("effect"), list) else []
    types = [str(e.get("type")) for e in effects if isinstance(e, dict) and not e.get("bypass")]
    return f"{fx.get('name', '?')}: {', '.join(types)} (tail {fx.get('tail', '?')})"


def regenerate_command(made: Provenance, folder: Path) -> str | None:
    """The one `soundloom` command that makes this take again, as a new file in `folder` (names are never
    reused: the original stays): its request, effect chain, export settings and name pattern. None for
    a take no command can remake (a re-render of another file, or one without a seed). Options come
    first and the file and prompt after `--`, so a prompt that starts with '-' stays a prompt."""
    if made.seed is None or made.operation not in ("generate", "vary", *EDITS_WITH_PROMPT):
        return None
    if made.operation != "generate" and not made.source_file:
        return None
    words = ["soundloom", made.operation]

    def option(flag: str, value: Any) -> None:
        if value is not None and value != "":
            words.extend([flag, str(value)])

    option("--negative", made.negative_prompt)
    option("--transcript", made.transcript)
    for limit, value in (
        (STEPS, made.steps),
        (GUIDANCE_SCALE, made.guidance_scale),
        (SAMPLER, made.sampler),
        (SEED, made.seed),
        (VARIATIONS, made.variations),
    ):
        option(limit.cli, value)
    if made.eta is not None and made.eta != ETA.default:
        option(ETA.cli, made.eta)
    option("--model", made.model_id)
    if made.loop and made.operation in ("generate", "transfer", "vary"):
        words.append("--loop")
    if made.rerank and made.operation != "vary":
        words.append("--rerank")
    if made.operation == "generate":
        option("--duration", made.duration_s)
    elif made.operation == "transfer":
        option(STRENGTH.cli, made.strength)
    elif made.operation == "inpaint":
        option("--start", made.start_s)
        option("--end", made.end_s)
        option(FADE_S.cli, made.fade_s)
    elif made.operation == "extend":
        option(EXTEND_S.cli, made.extend_s)
        option(FADE_S.cli, made.fade_s)
    words += _render_options(made)
    words += ["--out", f"{folder}/", "--"]
    if made.operation != "generate":
        words.append(made.source_file or "")
    if made.operation != "vary":
        words.append(made.prompt)
    take = f"  # take {made.variation} of {made.variations}" if (made.variations or 1) > 1 else ""
    return shlex.join(words) + take


def _render_options(made: Provenance) -> list[str]:
    """The effect chain, export settings and naming the take was delivered with, as options."""
    words = []
    fx_name = (made.fx or {}).get("name")
    if isinstance(fx_name, str) and fx_name:
        words += ["--fx", fx_name]
    export = ExportSettings.from_dict(made.export) or ExportSettings()
    for name, flag in EXPORT_FLAGS.items():
        value = getattr(export, name)
        if value is not None:
            words += [flag, str(value)]
    naming = made.naming or {}
    for key, flag in NAMING_FLAGS.items():
        if isinstance(naming.get(key), str) and naming[key]:
            words += [flag, naming[key]]
    return words
