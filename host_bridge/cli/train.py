"""`soundloom train STAGE`: the training stages' command lines, each resumable by running it again.

Ctrl+C (or SIGTERM) finishes the current step, writes a checkpoint and exits with 130; running the same
command again continues from it. Every run folder holds state.pt, losses.png, samples/ and its output.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ...engine.default_model import resolve_model
from ...engine.errors import GenerationCancelled
from ..delivery.files import OutputError
from ..errors import BridgeError
from .progress import ProgressBar


# Every option defaults to None: what is not given takes the stage's dataclass default (VAETraining, ...),
# the one place those values live.
def _common(stage: argparse.ArgumentParser) -> None:
    stage.add_argument("--out", type=Path, required=True, help="run folder: state, plots, samples, output")
    stage.add_argument("--steps", type=int, help="training steps (default: the stage's)")
    stage.add_argument("--batch", dest="batch_size", type=int, help="examples per step")
    stage.add_argument("--lr", dest="learning_rate", type=float, help="learning rate")
    stage.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    stage.add_argument("--sample-every", type=int, help="steps between audio samples (vae, vocoder, ldm)")
    stage.add_argument("--seed", type=int)
    stage.add_argument("--device", help="cpu (default), cuda or cuda:N")


def _data(stage: argparse.ArgumentParser, what: str) -> None:
    stage.add_argument("--data", type=Path, required=True, help=what)


AUDIO_FOLDER = "folder of audio files (any format, rate and channel count; no captions needed)"
DTYPE = {"choices": ["float32", "bfloat16"], "help": "bfloat16: autocast, weights stay float32"}


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train model components (resumable: run again to continue)")
    train.set_defaults(run=run_train)
    stages = train.add_subparsers(dest="stage", required=True)

    vae = stages.add_parser("vae", help="the mel VAE: reconstruction + KL")
    _data(vae, AUDIO_FOLDER)
    _common(vae)
    vae.add_argument("--kl-weight", type=float)
    vae.add_argument("--segment", dest="segment_s", type=float, help="seconds of audio per example")
    vae.add_argument("--channels", type=int, nargs="+", help="block widths (default 32 64 128)")
    vae.add_argument("--dtype", **DTYPE)

    vocoder = stages.add_parser("vocoder", help="HiFi-GAN on mel/waveform pairs (or fine-tune one)")
    _data(vocoder, AUDIO_FOLDER)
    _common(vocoder)
    vocoder.add_argument("--segment-frames", type=int, help="mel frames per example")
    vocoder.add_argument("--adversarial-start", type=int, help="step at which the discriminators join")
    vocoder.add_argument("--width", type=int, help="upsample_initial_channel (new vocoders; default 128)")
    vocoder.add_argument("--init", type=Path, help="a checkpoint or vocoder/ folder to fine-tune")

    clap = stages.add_parser("clap", help="contrastive audio/text encoder pair")
    _data(clap, "folder with captions-train.jsonl (soundloom corpus build writes one)")
    _common(clap)
    clap.add_argument("--text-tower", choices=["pretrained", "scratch"])
    clap.add_argument("--segment", dest="segment_s", type=float)
    clap.add_argument(
        "--alignment",
        type=float,
        help="weight of a paired-distance term that narrows the text/audio gap (default 0; the built-in "
        "model's last CLAP run used 3.0, docs/default-model.md)",
    )
    clap.add_argument(
        "--init",
        type=Path,
        help="start from a CLAP run or checkpoint folder (audio_encoder/ + text_encoder/)",
    )
    clap.add_argument(
        "--freeze-audio",
        action="store_true",
        default=None,
        help="with --init: train only the text projection, keeping the audio space (and UNets on it)",
    )
    clap.add_argument(
        "--reset-text",
        action="store_true",
        default=None,
        help="with --init: start the text projection afresh instead of from the init pair's",
    )
    clap.add_argument(
        "--text-noise",
        type=float,
        help="Gaussian noise on the pooled sentence embedding, relative to its norm, so unseen wording "
        "lands near similar seen wording (default 0; the built-in model: 1.0)",
    )

    ldm = stages.add_parser("ldm", help="the UNet on VAE latents, conditioned on CLAP audio embeddings")
    _data(ldm, AUDIO_FOLDER)
    _common(ldm)
    ldm.add_argument("--vae", type=Path, required=True, help="`train vae` run folder")
    ldm.add_argument("--vocoder", type=Path, required=True, help="`train vocoder` run folder")
    ldm.add_argument("--clap", type=Path, required=True, help="`train clap` run folder")

    finetune = stages.add_parser("finetune", help="continue a checkpoint's UNet on your own audio")
    _data(finetune, AUDIO_FOLDER)
    _common(finetune)
    finetune.add_argument("--model", default="default", help="checkpoint folder, hub id, or 'default'")
    for stage in (ldm, finetune):
        stage.add_argument("--segment", dest="segment_s", type=float)
        stage.add_argument("--cfg-dropout", type=float, help="share of steps trained without a condition")
        stage.add_argument("--dtype", **DTYPE)
        stage.add_argument(
            "--min-snr-gamma",
            type=float,
            help="> 0: Min-SNR-gamma loss weights (the built-in model: 5); 0 (default): AudioLDM's plain MSE",
        )
    for stage in (vocoder, ldm, finetune):
        stage.add_argument(
            "--lr-schedule",
            choices=["constant", "cosine"],
            help="cosine: after warmup, decay the rate to 0 at --steps (default constant)",
        )


def _given(args: argparse.Namespace, settings_type: type) -> dict:
    """The options given on the command line that are fields of `settings_type`."""
    names = {field.name for field in fields(settings_type)}
    return {name: value for name, value in vars(args).items() if name in names and value is not None}


def stage_settings(args: argparse.Namespace) -> Any:
    """The stage's settings dataclass: its defaults, with what the command line gave on top."""
    # The training modules import torch: only when a stage runs, so `soundloom --help` stays quick.
    from ...engine.training.clap import ClapTraining
    from ...engine.training.ldm import LDMTraining
    from ...engine.training.vae import VAETraining
    from ...engine.training.vocoder import VocoderTraining

    settings_type = {"vae": VAETraining, "vocoder": VocoderTraining, "clap": ClapTraining}.get(
        args.stage, LDMTraining
    )
    settings = replace(settings_type(), **_given(args, settings_type))
    if args.stage == "vae" and args.channels:
        groups = math.gcd(settings.model.norm_num_groups, *args.channels)  # GroupNorm must divide each
        settings = replace(
            settings, model=replace(settings.model, block_out_channels=args.channels, norm_num_groups=groups)
        )
    if args.stage == "vocoder" and args.width:
        settings = replace(settings, model=replace(settings.model, upsample_initial_channel=args.width))
    return settings


def _stage_runner(args: argparse.Namespace) -> Callable[[Any, threading.Event], Path]:
    """A function of (progress, cancel) that trains the stage and returns the output folder."""
    from ...engine.checkpoints import resolve_checkpoint
    from ...engine.training.clap import train_clap
    from ...engine.training.ldm import finetune_parts, ldm_parts, train_ldm
    from ...engine.training.vae import train_vae
    from ...engine.training.vocoder import train_vocoder

    settings = stage_settings(args)
    train = {"vae": train_vae, "vocoder": train_vocoder, "clap": train_clap}.get(args.stage)
    if train is not None:
        return lambda progress, cancel: train(args.data, args.out, settings, progress, cancel)
    if args.stage == "ldm":
        parts = ldm_parts(args.vae, args.vocoder, args.clap)
    else:
        parts = finetune_parts(resolve_checkpoint(resolve_model(args.model), allow_pickle=False))
    return lambda progress, cancel: train_ldm(args.data, args.out, settings, parts, progress, cancel)


def run_train(args: argparse.Namespace) -> int:
    for name in ("steps", "batch_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise BridgeError(f"--{name.split('_')[0]} must be 1 or more, got {getattr(args, name)}")
    if not args.out.parent.is_dir():
        raise OutputError(f"{args.out}: folder {args.out.parent} does not exist")
    if importlib.util.find_spec("matplotlib") is None:
        raise BridgeError("training plots its losses with matplotlib: pip install 'soundloom[train]'")
    train = _stage_runner(args)
    bar = ProgressBar(f"training {args.stage}")
    cancel = threading.Event()
    # Ctrl+C or a polite kill ends the current step, writes a checkpoint, then stops: nothing is lost.
    previous = {sig: signal.signal(sig, lambda *_: cancel.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        folder = train(lambda step, total, loss: bar(step, total, f"loss {loss:.4f}"), cancel)
    except GenerationCancelled as stopped:
        print(f"\nsoundloom: {stopped}", file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(folder)
    return 0
