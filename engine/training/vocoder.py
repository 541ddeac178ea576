"""Training stage `vocoder`: HiFi-GAN on (log-mel, waveform) pairs, from scratch or fine-tuning one.

Generator loss, as HiFi-GAN: 45 x L1 between the log-mels of the output and of the target, plus (from
`adversarial_start` on) the least-squares adversarial loss and 2 x feature matching against the multi-period
and multi-scale discriminators. Mel-only steps first are a common warm start when compute is short.
Both use AudioLDM's feature convention: the clip normalised to peak 0.5, then its log-mel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ..audio import MelConfig, normalize_waveform, waveform_to_mel
from ..checkpoints import load_component
from ..errors import EngineError
from ..models.vocoder import HifiGan, VocoderConfig
from .data import ClipFolder
from .discriminators import (
    Discriminators,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from .run import TrainingRun, check_schedule, export_component, learning_rate

MEL_WEIGHT, FEATURE_WEIGHT = 45.0, 2.0


@dataclass
class VocoderTraining:
    steps: int = 20000
    batch_size: int = 8
    learning_rate: float = 2e-4
    segment_frames: int = 32  # mel frames per example (x hop samples of audio)
    adversarial_start: int = 0
    warmup_steps: int = 0
    lr_schedule: str = "constant"  # or "cosine": decay both optimisers' rate to 0 at `steps`
    discriminator_width: int = 8
    checkpoint_every: int = 500
    sample_every: int = 2000
    seed: int = 0
    device: str = "cpu"
    init: Path | None = None  # a vocoder/ folder (or a checkpoint holding one) to fine-tune
    model: VocoderConfig = field(
        default_factory=lambda: VocoderConfig(
            upsample_initial_channel=128,
            upsample_kernel_sizes=[10, 8, 4, 4, 4],
            resblock_kernel_sizes=[3, 7],
            resblock_dilation_sizes=[[1, 3, 5]] * 2,
        )
    )


def vocoder_config_json(config: VocoderConfig) -> dict:
    return {"architectures": ["SpeechT5HifiGan"], "model_type": "hifigan", **asdict(config)}


def _initial_generator(settings: VocoderTraining) -> HifiGan:
    if settings.init is None:
        return HifiGan(settings.model)
    folder = settings.init / "vocoder" if (settings.init / "vocoder").is_dir() else settings.init
    generator = load_component(folder, HifiGan, VocoderConfig, "transformers")
    return generator.float().requires_grad_(True)


def train_vocoder(
    data_dir: Path,
    run_dir: Path,
    settings: VocoderTraining,
    progress: Callable[[int, int, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Train (or resume) in `run_dir`; returns the exported `run_dir / "vocoder"` folder."""
    if settings.batch_size < 1 or settings.segment_frames < 8:
        raise EngineError("batch size must be 1 or more and segment frames 8 or more")
    check_schedule(settings.lr_schedule)
    data = ClipFolder(data_dir)
    device = torch.device(settings.device)
    torch.manual_seed(settings.seed)
    generator = _initial_generator(settings).to(device)
    config = generator.config
    if config.sampling_rate != data.sample_rate:
        raise EngineError(f"the vocoder runs at {config.sampling_rate} Hz, training audio is read at 16000")
    mel_config = MelConfig(
        sample_rate=config.sampling_rate, mel_bins=config.model_in_dim, hop_length=config.hop_length
    )
    discriminators = Discriminators(settings.discriminator_width).to(device)
    betas = (0.8, 0.99)  # HiFi-GAN's
    g_optimizer = torch.optim.AdamW(generator.parameters(), settings.learning_rate, betas=betas)
    d_optimizer = torch.optim.AdamW(discriminators.parameters(), settings.learning_rate, betas=betas)
    run = TrainingRun(
        run_dir,
        "vocoder",
        {"model": asdict(config), "discriminator_width": settings.discriminator_width},
        {"generator": generator, "discriminators": discriminators},
        {"generator": g_optimizer, "discriminators": d_optimizer},
        settings.seed,
    )
    samples = settings.segment_frames * config.hop_length
    last_batch: list[torch.Tensor] = []

    def train_step(rng: np.random.Generator) -> float:
        for optimizer in (g_optimizer, d_optimizer):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(settings, run.step)
        # One frame of margin: the centred STFT of `samples` samples has segment_frames + 1 frames.
        target = normalize_waveform(data.batch(settings.batch_size, samples, rng)).to(device)  # (B, samples)
        mel = waveform_to_mel(target, mel_config)[:, : settings.segment_frames]  # (B, frames, mel_bins)
        last_batch[:] = [mel]
        output = generator(mel)[:, :samples]
        mel_loss = (waveform_to_mel(output, mel_config)[:, : settings.segment_frames] - mel).abs().mean()
        loss = MEL_WEIGHT * mel_loss
        adversarial = run.step >= settings.adversarial_start
        if adversarial:
            d_loss = discriminator_loss(discriminators(target), discriminators(output.detach()))
            d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimizer.step()
            real, fake = discriminators(target), discriminators(output)
            loss = (
                loss + generator_adversarial_loss(fake) + FEATURE_WEIGHT * feature_matching_loss(real, fake)
            )
        g_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        g_optimizer.step()
        # The curve shows the mel L1 alone: adversarial terms are not comparable across the switch-on.
        return mel_loss.item()

    run.run(
        settings.steps,
        train_step,
        "vocoder: L1(log-mel) of output vs target",
        settings.checkpoint_every,
        settings.sample_every,
        preview=lambda step: _write_preview(generator, last_batch[0], run_dir / "samples", step),
        progress=progress,
        cancel=cancel,
    )
    return export_component(run_dir / "vocoder", generator, vocoder_config_json(config), "model.safetensors")


@torch.no_grad()
def _write_preview(generator: HifiGan, mel: torch.Tensor, folder: Path, step: int) -> None:
    generator.eval()
    audio = generator(mel[:1]).float().cpu()[0].numpy()
    generator.train()
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / f"step{step:07d}_vocoded.wav", audio, generator.config.sampling_rate, subtype="FLOAT")
