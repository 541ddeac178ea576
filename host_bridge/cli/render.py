"""The render side of the `soundloom` command: export options shared by every command that writes audio,
`fx apply`, `presets list|show|validate` and `info`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...presets import PresetError, PresetLibrary, build_board, load_library, load_preset_file
from ...presets.library import preset_key
from ...presets.render import BIT_DEPTHS, CHANNEL_LAYOUTS, SAMPLE_RATES, STEREO_MODES, ExportSettings
from ..delivery.deliver import DeliveredFile, Delivery, DryTakeMissing, rerender
from ..delivery.files import OutputError
from ..delivery.provenance import read_file_provenance
from ..jobs.delivery import DEFAULT_EXPORT, delivery_for
from ..jobs.spec import JobSpec
from .options import add_out_option, make_out_folder, tell_licence

# The flag of each export setting and naming field, by its name in the provenance (ExportSettings' fields,
# Delivery's naming): add_render_options defines these flags, and `info`'s regenerate line writes a
# take's settings back as them.
EXPORT_FLAGS = {
    "sample_rate": "--rate",
    "channels": "--channels",
    "stereo_mode": "--stereo",
    "loudness_lufs": "--loudness",
    "peak_dbtp": "--peak",
    "ceiling_dbtp": "--ceiling",
    "fade_in_s": "--fade-in",
    "fade_out_s": "--fade-out",
    "bit_depth": "--bits",
}
NAMING_FLAGS = {"pattern": "--name", "catid": "--catid", "creator": "--creator", "source": "--library"}


def add_render_options(
    parser: argparse.ArgumentParser, name_pattern: str, dry: bool = True, inherit: bool = False
) -> None:
    """The render and export options. With `inherit` (fx apply) an export option left out keeps the
    take's own setting, so its defaults are None here and ExportSettings' after the take's."""
    group = parser.add_argument_group("render and export")
    default = (lambda value: None) if inherit else (lambda value: value)
    group.add_argument("--fx", help="effect preset name or preset .toml file ('none': no effects)")
    flag = EXPORT_FLAGS
    group.add_argument(
        flag["sample_rate"], type=int, choices=SAMPLE_RATES, metavar="HZ", help="default: the source rate"
    )
    group.add_argument(flag["channels"], choices=CHANNEL_LAYOUTS, default=default("same"))
    group.add_argument(
        flag["stereo_mode"],
        choices=STEREO_MODES,
        default=default("dual-mono"),
        help="how mono becomes stereo (--channels stereo)",
    )
    level = group.add_mutually_exclusive_group()
    level.add_argument(
        flag["loudness_lufs"], type=float, metavar="LUFS", help="integrated loudness target, e.g. -18"
    )
    level.add_argument(
        flag["peak_dbtp"], type=float, metavar="DBTP", help="true-peak normalisation target, e.g. -1"
    )
    group.add_argument(
        flag["ceiling_dbtp"],
        type=float,
        default=default(-1.0),
        metavar="DBTP",
        help="true-peak ceiling when level changes",
    )
    group.add_argument(flag["fade_in_s"], type=float, default=default(0.0), metavar="S")
    group.add_argument(flag["fade_out_s"], type=float, default=default(0.0), metavar="S")
    group.add_argument(
        flag["bit_depth"], choices=BIT_DEPTHS, default=default("32f"), help="16 is TPDF-dithered"
    )
    group.add_argument(
        NAMING_FLAGS["pattern"],
        default=name_pattern,
        help="file name pattern in an --out folder, from: {prompt} {seed} {variation} {date} {time} "
        "{operation} {input} {fx} {model} {catid} {fxname} {creator} {source}; "
        "'UCS' = {catid}_{fxname}_{creator}_{source}",
    )
    group.add_argument(NAMING_FLAGS["catid"], default="", help="UCS CatID for UCS names, e.g. WHSH, DOORWood")
    group.add_argument(NAMING_FLAGS["creator"], default="SL", help="UCS CreatorID")
    group.add_argument(NAMING_FLAGS["source"], default="Soundloom", help="UCS SourceID")
    if dry:
        group.add_argument(
            "--no-dry", action="store_true", help="do not keep the unprocessed take under dry/"
        )


def render_fields(args: argparse.Namespace, preset_fx: str | None = None) -> dict[str, Any]:
    """The render and export options as JobSpec fields (the prompt preset's effect chain unless --fx)."""
    fields = {
        "fx": args.fx if args.fx is not None else preset_fx,
        "rate": args.rate,
        "channels": args.channels,
        "stereo_mode": args.stereo,
        "loudness": args.loudness,
        "peak": args.peak,
        "ceiling_dbtp": args.ceiling,
        "fade_in_s": args.fade_in,
        "fade_out_s": args.fade_out,
        "bit_depth": args.bits,
        "name_pattern": args.name,
        "catid": args.catid,
        "creator": args.creator,
        "source": args.library,
        "keep_dry": not getattr(args, "no_dry", True),
    }
    return {name: value for name, value in fields.items() if value is not None}


def checked_delivery(
    spec: JobSpec, library: PresetLibrary, base: ExportSettings = DEFAULT_EXPORT
) -> Delivery:
    """The Delivery a command line job asks for, checked before any model loads (the name pattern is
    the spec's: the command's --name default)."""
    delivery = delivery_for(spec, library, "", base=base)
    problems = delivery.problems()
    if problems:
        raise PresetError("; ".join(problems))
    build_board(delivery.chain, spec.rate or 48000)  # plugins and impulse responses load now, not after
    return delivery


def delivery_from_args(
    args: argparse.Namespace,
    library: PresetLibrary,
    preset_fx: str | None = None,
    base: ExportSettings = DEFAULT_EXPORT,
) -> Delivery:
    """The Delivery the render options alone ask for (`fx apply`, a batch's defaults), checked; an export
    option left out comes from `base`."""
    return checked_delivery(JobSpec("generate", **render_fields(args, preset_fx)), library, base)


def report(delivered: list[DeliveredFile]) -> None:
    """Paths to stdout; what the render measured and noticed to stderr."""
    for item in delivered:
        made = item.take.provenance
        scored = made is not None and made.score is not None
        print(
            item.take.path + (f"\tCLAP score {made.score:.4f} (variation {made.variation})" if scored else "")
        )
        rendered = item.rendered
        sys.stderr.write(
            f"  {rendered.duration_s:.3f} s, {rendered.sample_rate} Hz, {rendered.audio.shape[1]} ch, "
            f"{rendered.loudness_lufs:.1f} LUFS, true peak {rendered.true_peak_dbtp:.1f} dBTP"
            + (f", tail {rendered.tail_s:.2f} s" if rendered.tail_s else "")
            + (f", dry take {item.dry_path}" if item.dry_path else "")
            + "".join(f"; {note}" for note in rendered.notes)
            + "\n"
            + "".join(f"  warning: {warning}\n" for warning in rendered.warnings)
        )


def register(commands: argparse._SubParsersAction) -> None:
    fx = commands.add_parser("fx", help="effect chains on existing files")
    fx_commands = fx.add_subparsers(dest="fx_command", required=True)
    apply = fx_commands.add_parser("apply", help="render a WAV/AIFF/FLAC through an effect preset")
    apply.set_defaults(run=run_fx_apply)
    apply.add_argument("input", type=Path)
    add_out_option(apply)
    apply.add_argument(
        "--overwrite", action="store_true", help="replace --out if it exists (never the input)"
    )
    apply.add_argument(
        "--as-is",
        action="store_true",
        help="process the file itself even when its provenance names a dry take (default: re-render the dry)",
    )
    add_render_options(apply, "{input}_{fx}", inherit=True)

    presets = commands.add_parser("presets", help="effect and prompt presets")
    presets.set_defaults(run=run_presets)
    preset_commands = presets.add_subparsers(dest="presets_command", required=True)
    listing = preset_commands.add_parser("list", help="every preset, built-in and yours")
    listing.add_argument("--kind", choices=["effects", "prompt"], default=None)
    show = preset_commands.add_parser("show", help="a preset's file and contents")
    show.add_argument("name")
    validate = preset_commands.add_parser("validate", help="check preset files (default: all)")
    validate.add_argument("files", nargs="*", type=Path)


def run_fx_apply(args: argparse.Namespace) -> int:
    """Render a file through a chain. A Soundloom file whose provenance names its dry take is re-rendered
    from that take (the chain it already has is replaced, not stacked); any other file is the dry itself.
    """
    if args.out.resolve() == args.input.resolve():
        raise OutputError(f"--out {args.out} is the input; user audio is never overwritten")
    if args.fx is None:
        raise PresetError("give an effect preset with --fx (or --fx none to only export)")
    made_by = read_file_provenance(args.input)
    # The take keeps its own rate, bits, layout and level unless an option says otherwise.
    base = ExportSettings.from_dict(made_by.export) if made_by is not None else None
    delivery = replace(delivery_from_args(args, load_library(), base=base or DEFAULT_EXPORT), keep_dry=False)
    make_out_folder(args)
    try:
        delivered = rerender(args.input, args.out, delivery, args.as_is, args.overwrite, log=sys.stderr.write)
    except DryTakeMissing as error:
        raise OutputError(f"{error} (--as-is)") from None
    report(delivered)
    made_by = delivered[0].take.provenance
    if made_by is not None:
        tell_licence(made_by.model_id or args.input.name, made_by.licence)
    return 0


def run_presets(args: argparse.Namespace) -> int:
    if args.presets_command == "validate":
        return _validate(args.files)
    library = load_library()
    if args.presets_command == "list":
        for kind, entries in (("effects", library.effects), ("prompt", library.prompts)):
            if args.kind not in (None, kind):
                continue
            for entry in sorted(entries.values(), key=lambda entry: entry.preset.name.casefold()):
                origin = "built-in" if entry.builtin else "user"
                print(f"{kind:<8} {entry.preset.name:<20} {origin:<8} {entry.preset.description}")
        for error in library.errors:
            print(f"soundloom: broken preset skipped: {error}", file=sys.stderr)
        return 0
    entry = library.effects.get(preset_key(args.name)) or library.prompts.get(preset_key(args.name))
    if entry is None:
        library.effect(args.name)  # raises the "no preset called ..." error, or the file's own error
    print(f"# {entry.path}")
    print(entry.path.read_text(encoding="utf-8"), end="")
    return 0


def _validate(files: list[Path]) -> int:
    if files:
        errors = []
        for path in files:
            try:
                load_preset_file(path)
            except PresetError as error:
                errors.append(error)
        count = len(files)
    else:
        library = load_library()
        errors, count = library.errors, len(library.effects) + len(library.prompts) + len(library.errors)
    for error in errors:
        print(f"soundloom: {error}", file=sys.stderr)
    print(f"{count - len(errors)} of {count} presets valid")
    return 2 if errors else 0
