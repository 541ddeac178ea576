"""`soundloom generate` (text to sound) and the edits of a clip: `transfer`, `inpaint`, `extend`, `vary`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ...engine import GeneratedAudio, read_clip
from ...engine.limits import DURATION_S, EXTEND_S, FADE_S, MAX_DURATION_S, STRENGTH
from ...presets import load_library
from ..delivery.deliver import Delivery, deliver
from ..delivery.files import OutputError, plan_outputs, write_wav
from ..errors import BridgeError
from .options import add_generation_options, add_limit_option, job_spec, load_runner, make_out_folder
from .progress import ProgressBar
from .render import add_render_options, checked_delivery, render_fields, report

EDIT_NAME = "{input}_{operation}_{prompt}_{seed}_{variation}"


def register(commands: argparse._SubParsersAction) -> None:
    generate = commands.add_parser("generate", help="generate sounds from a text prompt")
    generate.set_defaults(run=run_generate)
    generate.add_argument("prompt", nargs="?", help="the sound (optional with --preset)")
    add_limit_option(generate, DURATION_S, "length (default: the model's native length)")
    generate.add_argument("--preset", help="a prompt preset: template, negative prompt and settings")
    generate.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="BLANK=TEXT",
        help="fill a preset's blank, e.g. surface=snow",
    )
    generate.add_argument(
        "--preview",
        action="store_true",
        help="while the first take is denoised, write rough previews of it to NAME.preview.wav beside "
        "--out (in a folder: preview.wav), each replacing the last",
    )
    add_generation_options(generate)
    add_render_options(generate, "{prompt}_{seed}_{variation}")

    transfer = commands.add_parser("transfer", help="re-imagine a clip as the prompt (style transfer)")
    transfer.add_argument("input", type=Path, help="WAV, AIFF or FLAC, any rate, mono or stereo")
    transfer.add_argument("prompt")
    add_limit_option(transfer, STRENGTH, "0 keeps the clip, 1 is a fresh generation")
    add_generation_options(transfer)

    inpaint = commands.add_parser("inpaint", help="regenerate a time region of a clip from a prompt")
    inpaint.add_argument("input", type=Path)
    inpaint.add_argument("prompt")
    inpaint.add_argument("--start", type=float, required=True, help="region start, seconds")
    inpaint.add_argument("--end", type=float, required=True, help="region end (exclusive), seconds")
    add_limit_option(inpaint, FADE_S, "equal-power crossfade each side")
    add_generation_options(inpaint, loop=False)

    extend = commands.add_parser("extend", help="continue a clip by some seconds")
    extend.add_argument("input", type=Path)
    extend.add_argument("prompt")
    extend.add_argument(EXTEND_S.cli, type=float, required=True, help=f"how much to add, {EXTEND_S.span()}")
    add_limit_option(extend, FADE_S, "crossfade at the join")
    add_generation_options(extend, loop=False)

    vary = commands.add_parser("vary", help="new sounds like a clip (its CLAP audio embedding)")
    vary.add_argument("input", type=Path)
    add_generation_options(vary, rerank=False)
    for edit in (transfer, inpaint, extend, vary):
        edit.set_defaults(run=run_edit)
        add_render_options(edit, EDIT_NAME)


def _check(*problem_lists: list[str]) -> None:
    problems = [problem for problems in problem_lists for problem in problems]
    if problems:
        raise BridgeError("; ".join(problems))


def run_generate(args: argparse.Namespace) -> int:
    library = load_library()
    preset_fields, preset_fx = {}, None
    if args.preset:
        preset = library.prompt(args.preset)
        preset_fields, preset_fx = preset.request_fields(_blanks(args.var)), preset.fx
    elif args.var:
        raise BridgeError("--var fills a prompt preset's blanks; give --preset too")
    prompt = args.prompt if args.prompt is not None else preset_fields.get("prompt", "")
    spec = job_spec(
        args, "generate", prompt, preset_fields=preset_fields, render=render_fields(args, preset_fx)
    )
    request = spec.generation(spec.duration_s)
    delivery = checked_delivery(spec, library)
    _check(request.problems())
    # Check the destination before the (slow) model load.
    _plan(args, request.variations)
    preview = PreviewFile(_preview_path(args), args.overwrite) if args.preview else None
    runner = load_runner(args)
    sink = preview.sink(runner.model.sample_rate) if preview else None
    try:
        results = runner.render(request, ProgressBar("generating"), preview=sink)
        return _write_results(args, results, delivery)
    finally:  # the take supersedes its preview, as in the bridge; a failed run leaves none behind either
        if preview:
            preview.remove()


def _preview_path(args: argparse.Namespace) -> Path:
    """Where --preview writes: NAME.preview.wav beside a file, preview.wav in a folder; never a file of the
    user's (an existing one is replaced only with --overwrite)."""
    path = (
        args.out / "preview.wav" if args.out.is_dir() else args.out.with_name(f"{args.out.stem}.preview.wav")
    )
    if os.path.lexists(path) and not args.overwrite:
        raise OutputError(f"--preview: {path} already exists; choose another --out or allow replacing it")
    return path


class PreviewFile:
    """The CLI's preview sink: each preview replaces the last, atomically, so a player never reads half."""

    def __init__(self, path: Path, overwrite: bool):
        self.path, self.overwrite, self.written, self.fraction = path, overwrite, 0, 0.0

    def sink(self, sample_rate: int) -> Callable[[np.ndarray, float], None]:
        def write(waveform: np.ndarray, fraction: float) -> None:
            # The first write replaces nothing unless --overwrite; later ones replace our own preview.
            write_wav(self.path, waveform, sample_rate, overwrite=self.overwrite or self.written > 0)
            self.written, self.fraction = self.written + 1, fraction

        return write

    def remove(self) -> None:
        """Remove the preview (ours: only once written) and say what there was."""
        if self.written:
            with contextlib.suppress(OSError):
                self.path.unlink()
            sys.stderr.write(
                f"preview: {self.written} written to {self.path}, the last at {self.fraction:.0%} of the "
                "steps; removed now that the take is here\n"
            )
        else:
            sys.stderr.write("preview: none made (too few steps for one before the take)\n")


def _blanks(assignments: list[str]) -> dict[str, str]:
    values = {}
    for assignment in assignments:
        blank, equals, text = assignment.partition("=")
        if not equals or not blank.strip():
            raise BridgeError(f"--var {assignment!r}: write BLANK=TEXT, e.g. surface=snow")
        values[blank.strip()] = text.strip()
    return values


def run_edit(args: argparse.Namespace) -> int:
    operation = args.command
    prompt = getattr(args, "prompt", "")
    if args.out.resolve() == args.input.resolve():  # even with --overwrite
        raise OutputError(f"--out {args.out} is the input clip; user audio is never overwritten")
    spec = job_spec(args, operation, prompt, args.input, render=render_fields(args))
    delivery = checked_delivery(spec, load_library())
    # The clip by its absolute path in the take's provenance: `info`'s line remakes it from anywhere.
    clip = replace(read_clip(args.input, MAX_DURATION_S), source=str(args.input.resolve()))
    request = spec.edit_request(clip, spec.generation(None))
    _check(request.problems())
    _plan(args, request.generation.variations)
    results = load_runner(args).render(request, ProgressBar(operation))
    return _write_results(args, results, delivery)


def _plan(args: argparse.Namespace, variations: int) -> None:
    """Check --out before any work: the shared planner's words, with the option that fixes it."""
    make_out_folder(args)
    try:
        plan_outputs(args.out, variations, overwrite=args.overwrite)
    except OutputError as error:
        if error.taken is not None:
            raise
        raise OutputError(f"--out {error}") from None


def _write_results(args: argparse.Namespace, results: list[GeneratedAudio], delivery: Delivery) -> int:
    delivered = deliver(results, args.out, delivery, args.overwrite)
    report(delivered)
    sys.stderr.write(f"seed {delivered[0].take.seed}, {len(delivered)} file(s)\n")
    return 0
