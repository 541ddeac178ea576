"""The `soundloom` command: generate sounds and inspect checkpoints from a shell.

Every error a user can cause ends as one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..engine import EngineError, GenerationRequest
from ..engine.requests import SAMPLERS
from .output import OutputError, plan_outputs, slug, write_wav


class ProgressBar:
    """A one-line bar on stderr, redrawn in place."""

    def __init__(self, label: str, width: int = 30):
        self.label, self.width, self.started = label, width, time.monotonic()

    def __call__(self, step: int, total: int) -> None:
        filled = self.width * step // total
        elapsed = time.monotonic() - self.started
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {step}/{total} {elapsed:5.1f}s"
        )
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
        "--model", required=True, help="checkpoint folder or hub id, e.g. cvssp/audioldm-s-full-v2"
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
    inspect.add_argument("model", help="checkpoint folder or hub id")
    inspect.add_argument("--allow-pickle", action="store_true")
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

    model = AudioLDM.load(args.model, device=args.device, dtype=args.dtype, allow_pickle=args.allow_pickle)
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

    summary = inspect_checkpoint(args.model, args.allow_pickle)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return run_generate(args)
        return run_models_inspect(args)
    except (EngineError, OutputError) as error:
        print(f"soundloom: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soundloom: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
