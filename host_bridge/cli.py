"""The `soundloom` command: generate sounds and inspect checkpoints from a shell.

Every error a user can cause ends as one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ..engine import EditRequest, EngineError, GeneratedAudio, GenerationRequest, read_clip
from ..engine.default_model import resolve_model
from ..engine.requests import DEFAULT_FADE_S, EDIT_OPERATIONS, SAMPLERS
from ..presets import PresetError, load_library
from .deliver import Delivery, deliver
from .midi import MIDI_APIS
from .output import OutputError, plan_outputs, write_text, write_wav
from .render_cli import (
    add_render_options,
    add_render_parsers,
    delivery_from_args,
    report,
    run_fx_apply,
    run_info,
    run_presets,
)
from .serve_cli import add_serve_parsers, run_live, run_send, run_serve
from .train_cli import add_train_parser, run_train

EDIT_NAME = "{input}_{operation}_{prompt}_{seed}_{variation}"


class ProgressBar:
    """A one-line bar on stderr, redrawn in place."""

    def __init__(self, label: str, width: int = 30):
        self.label, self.width, self.started = label, width, time.monotonic()

    def __call__(self, step: int, total: int, note: str = "") -> None:
        filled = self.width * step // total
        elapsed = time.monotonic() - self.started
        bar = "#" * filled + "." * (self.width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {step}/{total} {elapsed:5.1f}s {note}")
        if step == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cuda, cuda:N or cpu")
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float16", "bfloat16"],
        help="float32 is exact; float16/bfloat16 are for GPUs",
    )
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="also load .bin pickle weights (read with torch.load(weights_only=True))",
    )


def _add_generation_options(parser: argparse.ArgumentParser, loop: bool = True, rerank: bool = True) -> None:
    parser.add_argument(
        "--model",
        default="default",
        help="'default' (built in), a checkpoint folder, or a hub id, e.g. cvssp/audioldm-s-full-v2",
    )
    # Defaults are None so a prompt preset's settings apply unless an option is given explicitly.
    parser.add_argument("--negative", default=None, help="what the sound should not be")
    parser.add_argument(
        "--transcript", default="", help="speech checkpoints (AudioLDM 2 gigaspeech/ljspeech): the words"
    )
    parser.add_argument("--steps", type=int, default=None, help="default 25")
    parser.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (2.5)")
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
    parser.add_argument("--sampler", default=None, help=f"one of: {', '.join(SAMPLERS)} (dpm++)")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM noise (0 deterministic)")
    parser.add_argument("--variations", type=int, default=None, help="default 1")
    if loop:
        parser.add_argument(
            "--loop", action=argparse.BooleanOptionalAction, default=None, help="seamless at the wrap point"
        )
    if rerank:
        parser.add_argument(
            "--rerank", action="store_true", help="order the variations by CLAP score, best first"
        )
    parser.add_argument("--out", required=True, type=Path, help="a .wav file, or an existing folder")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files named by --out")
    _add_engine_options(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soundloom", description="Text-to-audio latent diffusion for sound design."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="generate sounds from a text prompt")
    generate.add_argument("prompt", nargs="?", help="the sound (optional with --preset)")
    generate.add_argument(
        "--duration", type=float, default=None, help="seconds (default: the model's native length)"
    )
    generate.add_argument("--preset", help="a prompt preset: template, negative prompt and settings")
    generate.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="BLANK=TEXT",
        help="fill a preset's blank, e.g. surface=snow",
    )
    _add_generation_options(generate)
    add_render_options(generate, "{prompt}_{seed}_{variation}")

    transfer = commands.add_parser("transfer", help="re-imagine a clip as the prompt (style transfer)")
    transfer.add_argument("input", type=Path, help="WAV, AIFF or FLAC, any rate, mono or stereo")
    transfer.add_argument("prompt")
    transfer.add_argument(
        "--strength", type=float, default=0.5, help="0 keeps the clip, 1 is a fresh generation"
    )
    _add_generation_options(transfer)
    add_render_options(transfer, EDIT_NAME)

    inpaint = commands.add_parser("inpaint", help="regenerate a time region of a clip from a prompt")
    inpaint.add_argument("input", type=Path)
    inpaint.add_argument("prompt")
    inpaint.add_argument("--start", type=float, required=True, help="region start, seconds")
    inpaint.add_argument("--end", type=float, required=True, help="region end (exclusive), seconds")
    inpaint.add_argument(
        "--fade", type=float, default=DEFAULT_FADE_S, help="equal-power crossfade each side, seconds"
    )
    _add_generation_options(inpaint, loop=False)
    add_render_options(inpaint, EDIT_NAME)

    extend = commands.add_parser("extend", help="continue a clip by some seconds")
    extend.add_argument("input", type=Path)
    extend.add_argument("prompt")
    extend.add_argument("--seconds", type=float, required=True, help="how much to add")
    extend.add_argument("--fade", type=float, default=DEFAULT_FADE_S, help="crossfade at the join, seconds")
    _add_generation_options(extend, loop=False)
    add_render_options(extend, EDIT_NAME)

    vary = commands.add_parser("vary", help="new sounds like a clip (its CLAP audio embedding)")
    vary.add_argument("input", type=Path)
    _add_generation_options(vary, rerank=False)
    add_render_options(vary, EDIT_NAME)

    models = commands.add_parser("models", help="work with checkpoints")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    inspect = model_commands.add_parser("inspect", help="components, parameter counts and sample rate")
    inspect.add_argument("model", help="'default', a checkpoint folder or a hub id")
    inspect.add_argument("--allow-pickle", action="store_true")
    model_commands.add_parser("list", help="the built-in model and the published ones in the cache")
    package = model_commands.add_parser("package", help="copy a checkpoint with fp16 weights (half the size)")
    package.add_argument("model", type=Path, help="checkpoint folder, e.g. a training run's model/")
    package.add_argument("--out", type=Path, required=True, help="a new folder")
    corpus = commands.add_parser("corpus", help="the captioned training corpus")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", required=True)
    build = corpus_commands.add_parser("build", help="render clips and their captions into a folder")
    build.add_argument("out", type=Path, help="a new or empty folder")
    build.add_argument("--count", type=int, default=210, help="number of clips (categories rotate)")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--start", type=int, default=0, help="first clip index (to extend a corpus)")
    build.add_argument("--duration", type=float, default=5.12, help="seconds per clip")
    build.add_argument(
        "--split",
        choices=["train", "heldout"],
        default="train",
        help="heldout: the same clips, captioned with paraphrases never used in training",
    )
    add_train_parser(commands)
    add_render_parsers(commands)
    add_serve_parsers(commands, _add_engine_options)
    gui = commands.add_parser("gui", help="the desktop app: engine, DAW bridge and window in one process")
    gui.add_argument("--model", default="default", help="'default', a checkpoint folder, or a hub id")
    gui.add_argument(
        "--osc-port", type=int, default=None, help="bridge port (default: the saved one, or 9000)"
    )
    gui.add_argument(
        "--root", type=Path, action="append", default=[], help="a folder DAW inputs may come from"
    )
    gui.add_argument("--out", type=Path, default=None, help="output folder (default: the data folder's)")
    gui.add_argument(
        "--midi",
        choices=MIDI_APIS,
        default=None,
        help="open a virtual MIDI port (clock, take audition) through this API; auto picks ALSA or JACK",
    )
    _add_engine_options(gui)
    return parser


def _generation_request(
    args: argparse.Namespace, prompt: str, duration_s: float | None, preset_fields: dict | None = None
) -> GenerationRequest:
    """Explicit options win over the prompt preset's settings, which win over GenerationRequest's defaults."""
    fields = dict(preset_fields or {}, prompt=prompt)
    explicit = {
        "negative_prompt": args.negative,
        "duration_s": duration_s,
        "steps": args.steps,
        "guidance_scale": args.guidance,
        "sampler": args.sampler,
        "variations": args.variations,
        "loop": getattr(args, "loop", None),
    }
    fields.update({key: value for key, value in explicit.items() if value is not None})
    return GenerationRequest(
        seed=args.seed,
        eta=args.eta,
        rerank=getattr(args, "rerank", False),
        transcript=args.transcript,
        **fields,
    )


def _check(*problem_lists: list[str]) -> None:
    problems = [problem for problems in problem_lists for problem in problems]
    if problems:
        raise EngineError("; ".join(problems))


def run_generate(args: argparse.Namespace) -> int:
    library = load_library()
    preset_fields, preset_fx = {}, None
    if args.preset:
        preset = library.prompt(args.preset)
        preset_fields, preset_fx = preset.request_fields(_blanks(args.var)), preset.fx
    elif args.var:
        raise EngineError("--var fills a prompt preset's blanks; give --preset too")
    prompt = args.prompt if args.prompt is not None else preset_fields.pop("prompt", "")
    preset_fields.pop("prompt", None)
    request = _generation_request(args, prompt, args.duration, preset_fields)
    delivery = delivery_from_args(args, library, preset_fx)
    _check(request.problems())
    # Check the destination before the (slow) model load.
    plan_outputs(args.out, request.variations, overwrite=args.overwrite)
    model = _load_model(args)
    results = model.generate(request, progress=ProgressBar("generating"))
    return _write_results(args, results, delivery)


def _blanks(assignments: list[str]) -> dict[str, str]:
    values = {}
    for assignment in assignments:
        blank, equals, text = assignment.partition("=")
        if not equals or not blank.strip():
            raise EngineError(f"--var {assignment!r}: write BLANK=TEXT, e.g. surface=snow")
        values[blank.strip()] = text.strip()
    return values


def run_edit(args: argparse.Namespace) -> int:
    from ..engine.requests import MAX_DURATION_S

    operation = args.command
    prompt = getattr(args, "prompt", "")
    if args.out.resolve() == args.input.resolve():  # even with --overwrite
        raise OutputError(f"--out {args.out} is the input clip; user audio is never overwritten")
    delivery = delivery_from_args(args, load_library())
    clip = read_clip(args.input, MAX_DURATION_S)
    request = EditRequest(
        operation,
        clip,
        _generation_request(args, prompt, None),
        strength=getattr(args, "strength", 0.5),
        start_s=getattr(args, "start", None),
        end_s=getattr(args, "end", None),
        fade_s=getattr(args, "fade", DEFAULT_FADE_S),
        extend_s=getattr(args, "seconds", None),
    )
    _check(request.problems())
    plan_outputs(args.out, request.generation.variations, overwrite=args.overwrite)
    model = _load_model(args)
    results = model.edit(request, progress=ProgressBar(operation))
    return _write_results(args, results, delivery)


def _load_model(args: argparse.Namespace, model_id: str | None = None):
    from ..engine.pipeline import load_model  # imports torch: only when there is work to do

    return load_model(
        model_id or resolve_model(args.model),
        device=args.device,
        dtype=args.dtype,
        allow_pickle=args.allow_pickle,
    )


def _write_results(args: argparse.Namespace, results: list[GeneratedAudio], delivery: Delivery) -> int:
    delivered = deliver(results, args.out, delivery, args.overwrite)
    report(delivered)
    first = delivered[0].provenance
    sys.stderr.write(f"seed {first['seed']}, {len(delivered)} file(s)\n")
    return 0


def run_models_inspect(args: argparse.Namespace) -> int:
    from ..engine.checkpoints import inspect_checkpoint

    summary = inspect_checkpoint(resolve_model(args.model), args.allow_pickle)
    print(f"checkpoint   {summary.folder}")
    print(f"family       {summary.family} ({summary.pipeline})")
    print(f"sample rate  {summary.sample_rate} Hz")
    print(f"  {'component':<18} {'class':<30} {'parameters':>11} {'fp16':>9} {'fp32':>9}")
    for component in summary.components:
        print(f"  {component.name:<18} {component.class_name:<30} {_sizes(component.parameters)}")
    total = sum(component.parameters for component in summary.components)
    print(f"  {'total':<18} {'':<30} {_sizes(total)}")
    return 0


def _sizes(parameters: int) -> str:
    """Parameter count and the weights' memory at 2 and 4 bytes each."""
    if not parameters:
        return f"{'(no weights)':>11}"
    return f"{parameters / 1e6:10.2f}M {parameters * 2 / 2**20:7.1f}MB {parameters * 4 / 2**20:7.1f}MB"


def run_models_list() -> int:
    from ..engine.default_model import list_models

    entries = list_models()
    if not entries:
        print("no models: the built-in one is missing and the Hugging Face cache holds none", file=sys.stderr)
        return 0
    for entry in entries:
        print(f"{entry.name:<36} {entry.family:<10} {entry.location}")
    return 0


def run_corpus_build(args: argparse.Namespace) -> int:
    from ..engine.training.corpus import SAMPLE_RATE, make_item

    if args.count < 1 or args.start < 0:
        raise EngineError(
            f"--count must be 1 or more and --start 0 or more, got {args.count} and {args.start}"
        )
    if not 0 < args.duration <= 30:
        raise EngineError(f"--duration must be above 0 and at most 30 s, got {args.duration:g}")
    if not args.out.parent.is_dir():
        raise OutputError(f"{args.out}: folder {args.out.parent} does not exist")
    manifest = args.out / f"captions-{args.split}.jsonl"
    previous = manifest.read_text() if manifest.exists() else ""
    taken = {json.loads(line)["index"] for line in previous.splitlines() if line.strip()}
    overlap = taken & set(range(args.start, args.start + args.count))
    if overlap:
        raise OutputError(
            f"{manifest} already holds clip {min(overlap)}; extend it with --start {max(taken) + 1} "
            "or choose a new folder"
        )
    clips = args.out / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    bar = ProgressBar("rendering")
    lines = []
    for step, index in enumerate(range(args.start, args.start + args.count)):
        item = make_item(args.seed, index, args.duration, args.split)
        path = clips / f"{args.seed}_{index:06d}_{item.category}.wav"
        if not path.exists():  # the held-out split reuses the training split's audio files
            write_wav(path, item.audio, SAMPLE_RATE)
        lines.append(
            json.dumps(
                {
                    "file": str(path.relative_to(args.out)),
                    "caption": item.caption,
                    "category": item.category,
                    "attribute": item.attribute,
                    "seed": item.seed,
                    "index": item.index,
                    "split": args.split,
                }
            )
        )
        bar(step + 1, args.count)
    write_text(manifest, previous + "\n".join(lines) + "\n")
    print(manifest)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return run_generate(args)
        if args.command in EDIT_OPERATIONS:
            return run_edit(args)
        if args.command == "corpus":
            return run_corpus_build(args)
        if args.command == "train":
            return run_train(args, ProgressBar)
        if args.command == "fx":
            return run_fx_apply(args)
        if args.command == "presets":
            return run_presets(args)
        if args.command == "info":
            return run_info(args)
        if args.command == "serve":
            return run_serve(args, lambda model_id, args: _load_model(args, model_id))
        if args.command == "send":
            return run_send(args)
        if args.command == "live":
            return run_live(args)
        if args.command == "gui":
            from ..gui.app import run_gui  # imports PyQt6: only for the app

            return run_gui(args)
        if args.models_command == "list":
            return run_models_list()
        if args.models_command == "package":
            from ..engine.training.run import package_checkpoint

            print(package_checkpoint(args.model, args.out))
            return 0
        return run_models_inspect(args)
    except (EngineError, OutputError, PresetError) as error:
        print(f"soundloom: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soundloom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 0


if __name__ == "__main__":
    sys.exit(main())
