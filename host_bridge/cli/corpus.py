"""`soundloom corpus build`: render the captioned training corpus (FluidSynth, espeak-ng, procedural)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..delivery.files import OutputError, write_text, write_wav
from ..errors import BridgeError
from .progress import ProgressBar


def register(commands: argparse._SubParsersAction) -> None:
    corpus = commands.add_parser("corpus", help="the captioned training corpus")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", required=True)
    build = corpus_commands.add_parser("build", help="render clips and their captions into a folder")
    build.set_defaults(run=run_build)
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


def run_build(args: argparse.Namespace) -> int:
    from ...engine.training.corpus import (  # scipy, mido, FluidSynth: only for this command
        SAMPLE_RATE,
        make_item,
    )

    if args.count < 1 or args.start < 0:
        raise BridgeError(
            f"--count must be 1 or more and --start 0 or more, got {args.count} and {args.start}"
        )
    if not 0 < args.duration <= 30:
        raise BridgeError(f"--duration must be above 0 and at most 30 s, got {args.duration:g}")
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
