"""The `soundloom` command: generate sounds and inspect checkpoints from a shell.

Every error a user can cause ends as one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..engine import EngineError, GenerationRequest
from ..engine.default_model import resolve_model
from ..engine.requests import SAMPLERS
from .output import OutputError, plan_outputs, slug, write_text, write_wav
from .train_cli import add_train_parser, run_train


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soundloom", description="Text-to-audio latent diffusion for sound design."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="generate sounds from a text prompt")
    generate.add_argument("prompt")
    generate.add_argument(
        "--model",
        default="default",
        help="'default' (built in), a checkpoint folder, or a hub id, e.g. cvssp/audioldm-s-full-v2",
    )
    generate.add_argument("--negative", default="", help="what the sound should not be")
    generate.add_argument(
        "--duration", type=float, default=None, help="seconds (default: the model's native length)"
    )
    generate.add_argument("--steps", type=int, default=25)
    generate.add_argument("--guidance", type=float, default=2.5, help="classifier-free guidance scale")
    generate.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
    generate.add_argument("--sampler", default="dpm++", help=f"one of: {', '.join(SAMPLERS)}")
    generate.add_argument("--eta", type=float, default=0.0, help="DDIM noise (0 deterministic)")
    generate.add_argument("--variations", type=int, default=1)
    generate.add_argument("--out", required=True, type=Path, help="a .wav file, or an existing folder")
    generate.add_argument("--overwrite", action="store_true", help="replace existing files named by --out")
    _add_engine_options(generate)

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
    return parser


def run_generate(args: argparse.Namespace) -> int:
    request = GenerationRequest(
        prompt=args.prompt,
        negative_prompt=args.negative,
        duration_s=args.duration,
        steps=args.steps,
        guidance_scale=args.guidance,
        seed=args.seed,
        sampler=args.sampler,
        variations=args.variations,
        eta=args.eta,
    )
    problems = request.problems()
    if problems:
        raise EngineError("; ".join(problems))
    # Check the destination before the (slow) model load; the stem is finalised once the seed is known.
    plan_outputs(args.out, request.variations, "check", args.overwrite)

    from ..engine.pipeline import AudioLDM  # imports torch: only when there is work to do

    model = AudioLDM.load(
        resolve_model(args.model), device=args.device, dtype=args.dtype, allow_pickle=args.allow_pickle
    )
    results = model.generate(request, progress=ProgressBar("generating"))
    seed = results[0].request.seed
    paths = plan_outputs(args.out, len(results), f"{slug(request.prompt)}_{seed}", args.overwrite)
    for result, path in zip(results, paths, strict=True):
        write_wav(path, result.audio, result.sample_rate, args.overwrite)
        print(path)
    sys.stderr.write(
        f"seed {seed}, {results[0].duration_s:.3f} s at {results[0].sample_rate} Hz, {len(results)} file(s)\n"
    )
    return 0


def run_models_inspect(args: argparse.Namespace) -> int:
    from ..engine.checkpoints import inspect_checkpoint

    summary = inspect_checkpoint(resolve_model(args.model), args.allow_pickle)
    print(f"checkpoint   {summary.folder}")
    print(f"family       {summary.family} ({summary.pipeline})")
    print(f"sample rate  {summary.sample_rate} Hz")
    for component in summary.components:
        count = (
            f"{component.parameters / 1e6:10.2f}M params" if component.parameters else "      (no weights)"
        )
        print(f"  {component.name:<14} {component.class_name:<30} {count}")
    total = sum(component.parameters for component in summary.components)
    print(f"  {'total':<14} {'':<30} {total / 1e6:10.2f}M params")
    return 0


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
        if args.command == "corpus":
            return run_corpus_build(args)
        if args.command == "train":
            return run_train(args, ProgressBar)
        if args.models_command == "list":
            return run_models_list()
        if args.models_command == "package":
            from ..engine.training.run import package_checkpoint

            print(package_checkpoint(args.model, args.out))
            return 0
        return run_models_inspect(args)
    except (EngineError, OutputError) as error:
        print(f"soundloom: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soundloom: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
