"""`soundloom train STAGE`: the training stages' command lines, each resumable by running it again.

Ctrl+C (or SIGTERM) finishes the current step, writes a checkpoint and exits with 130; running the same
command again continues from it. Every run folder holds state.pt, losses.png, samples/ and its output.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from ..engine.errors import EngineError
from .output import OutputError


def _common(stage: argparse.ArgumentParser, steps: int, batch: int, lr: float) -> None:
    stage.add_argument("--out", type=Path, required=True, help="run folder: state, plots, samples, output")
    stage.add_argument("--steps", type=int, default=steps)
    stage.add_argument("--batch", type=int, default=batch)
    stage.add_argument("--lr", type=float, default=lr)
    stage.add_argument("--checkpoint-every", type=int, default=500)
    stage.add_argument("--sample-every", type=int, default=2000)
    stage.add_argument("--seed", type=int, default=0)
    stage.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")


def _data(stage: argparse.ArgumentParser, what: str) -> None:
    stage.add_argument("--data", type=Path, required=True, help=what)


AUDIO_FOLDER = "folder of audio files (any format, rate and channel count; no captions needed)"


def add_train_parser(commands) -> None:
    train = commands.add_parser("train", help="train model components (resumable: run again to continue)")
    stages = train.add_subparsers(dest="stage", required=True)

    vae = stages.add_parser("vae", help="the mel VAE: reconstruction + KL")
    _data(vae, AUDIO_FOLDER)
    _common(vae, 20000, 8, 3.6e-4)
    vae.add_argument("--kl-weight", type=float, default=1e-6)
    vae.add_argument("--segment", type=float, default=2.56, help="seconds of audio per example")
    vae.add_argument("--channels", type=int, nargs="+", default=[32, 64, 128], help="block widths")
    vae.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")

    vocoder = stages.add_parser("vocoder", help="HiFi-GAN on mel/waveform pairs (or fine-tune one)")
    _data(vocoder, AUDIO_FOLDER)
    _common(vocoder, 20000, 8, 2e-4)
    vocoder.add_argument("--segment-frames", type=int, default=32, help="mel frames per example")
    vocoder.add_argument(
        "--adversarial-start", type=int, default=0, help="step at which the discriminators join"
    )
    vocoder.add_argument("--width", type=int, default=128, help="upsample_initial_channel (new vocoders)")
    vocoder.add_argument("--init", type=Path, help="a checkpoint or vocoder/ folder to fine-tune")

    clap = stages.add_parser("clap", help="contrastive audio/text encoder pair")
    _data(clap, "folder with captions-train.jsonl (soundloom corpus build writes one)")
    _common(clap, 3000, 64, 1e-3)
    clap.add_argument("--text-tower", choices=["pretrained", "scratch"], default="pretrained")
    clap.add_argument("--segment", type=float, default=5.12)
    clap.add_argument(
        "--alignment",
        type=float,
        default=0.0,
        help="weight of a paired-distance term that narrows the text/audio gap (default model: 1.0)",
    )
    clap.add_argument(
        "--init",
        type=Path,
        help="start from a CLAP run or checkpoint folder (audio_encoder/ + text_encoder/)",
    )
    clap.add_argument(
        "--freeze-audio",
        action="store_true",
        help="with --init: train only the text projection, keeping the audio space (and UNets on it)",
    )
    clap.add_argument(
        "--reset-text",
        action="store_true",
        help="with --init: start the text projection afresh instead of from the init pair's",
    )
    clap.add_argument(
        "--text-noise",
        type=float,
        default=0.0,
        help="Gaussian noise on the pooled sentence embedding, relative to its norm, so unseen wording "
        "lands near similar seen wording (default model: 1.0)",
    )

    ldm = stages.add_parser("ldm", help="the UNet on VAE latents, conditioned on CLAP audio embeddings")
    _data(ldm, AUDIO_FOLDER)
    _common(ldm, 20000, 16, 2e-4)
    ldm.add_argument("--vae", type=Path, required=True, help="`train vae` run folder")
    ldm.add_argument("--vocoder", type=Path, required=True, help="`train vocoder` run folder")
    ldm.add_argument("--clap", type=Path, required=True, help="`train clap` run folder")
    ldm.add_argument("--segment", type=float, default=5.12)
    ldm.add_argument("--cfg-dropout", type=float, default=0.1)
    ldm.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")

    finetune = stages.add_parser("finetune", help="continue a checkpoint's UNet on your own audio")
    _data(finetune, AUDIO_FOLDER)
    _common(finetune, 2000, 8, 5e-5)
    finetune.add_argument("--model", default="default", help="checkpoint folder, hub id, or 'default'")
    finetune.add_argument("--segment", type=float, default=5.12)
    finetune.add_argument("--cfg-dropout", type=float, default=0.1)
    finetune.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    for stage in (vocoder, ldm, finetune):
        stage.add_argument(
            "--lr-schedule",
            choices=["constant", "cosine"],
            default="constant",
            help="cosine: after warmup, decay the rate to 0 at --steps",
        )
    for stage in (ldm, finetune):
        stage.add_argument(
            "--min-snr-gamma",
            type=float,
            default=0.0,
            help="> 0: Min-SNR-gamma loss weights (default model: 5); 0: AudioLDM's plain MSE",
        )


def _stage_runner(args: argparse.Namespace):
    """(label, function of (progress, cancel) that trains and returns the output folder)."""
    common = dict(checkpoint_every=args.checkpoint_every, seed=args.seed, device=args.device)
    if args.stage == "vae":
        from ..engine.models.vae import VAEConfig
        from ..engine.training.vae import VAETraining, train_vae

        settings = VAETraining(
            steps=args.steps,
            batch_size=args.batch,
            learning_rate=args.lr,
            kl_weight=args.kl_weight,
            segment_s=args.segment,
            sample_every=args.sample_every,
            dtype=args.dtype,
            model=VAEConfig(
                block_out_channels=args.channels,
                latent_channels=8,
                layers_per_block=1,
                norm_num_groups=min(32, args.channels[0]),
            ),
            **common,
        )
        return lambda progress, cancel: train_vae(args.data, args.out, settings, progress, cancel)
    if args.stage == "vocoder":
        from dataclasses import replace

        from ..engine.training.vocoder import VocoderTraining, train_vocoder

        defaults = VocoderTraining()
        settings = VocoderTraining(
            steps=args.steps,
            batch_size=args.batch,
            learning_rate=args.lr,
            segment_frames=args.segment_frames,
            adversarial_start=args.adversarial_start,
            lr_schedule=args.lr_schedule,
            sample_every=args.sample_every,
            init=args.init,
            model=replace(defaults.model, upsample_initial_channel=args.width),
            **common,
        )
        return lambda progress, cancel: train_vocoder(args.data, args.out, settings, progress, cancel)
    if args.stage == "clap":
        from ..engine.training.clap import ClapTraining, train_clap

        settings = ClapTraining(
            steps=args.steps,
            batch_size=args.batch,
            learning_rate=args.lr,
            segment_s=args.segment,
            text_tower=args.text_tower,
            alignment=args.alignment,
            init=args.init,
            freeze_audio=args.freeze_audio,
            reset_text=args.reset_text,
            text_noise=args.text_noise,
            **common,
        )
        return lambda progress, cancel: train_clap(args.data, args.out, settings, progress, cancel)

    from ..engine.training.ldm import LDMTraining, finetune_parts, ldm_parts, train_ldm

    settings = LDMTraining(
        steps=args.steps,
        batch_size=args.batch,
        learning_rate=args.lr,
        segment_s=args.segment,
        cfg_dropout=args.cfg_dropout,
        lr_schedule=args.lr_schedule,
        min_snr_gamma=args.min_snr_gamma,
        sample_every=args.sample_every,
        dtype=args.dtype,
        **common,
    )
    if args.stage == "ldm":
        parts = ldm_parts(args.vae, args.vocoder, args.clap)
    else:
        from ..engine.checkpoints import resolve_checkpoint
        from ..engine.default_model import resolve_model

        parts = finetune_parts(resolve_checkpoint(resolve_model(args.model), allow_pickle=False))
    return lambda progress, cancel: train_ldm(args.data, args.out, settings, parts, progress, cancel)


def run_train(args: argparse.Namespace, progress_bar) -> int:
    from ..engine.errors import GenerationCancelled

    if args.steps < 1 or args.batch < 1:
        raise EngineError(f"--steps and --batch must be 1 or more, got {args.steps} and {args.batch}")
    if not args.out.parent.is_dir():
        raise OutputError(f"{args.out}: folder {args.out.parent} does not exist")
    train = _stage_runner(args)
    bar = progress_bar(f"training {args.stage}")
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
