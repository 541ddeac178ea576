"""Training stage `vae`: the mel-spectrogram VAE, reconstruction + KL as in AudioLDM.

Loss per batch: L1 between input and reconstructed log-mel, plus `kl_weight` times the KL divergence of
the posterior from N(0, I). After training, `scaling_factor` is set to 1 / std of the latents (as Stable
Diffusion and AudioLDM do) so the diffusion model sees unit-variance latents.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ..audio import MelConfig, griffin_lim, normalize_waveform, waveform_to_mel
from ..errors import EngineError
from ..models.vae import AutoencoderKL, VAEConfig
from .data import ClipFolder
from .run import TrainingRun, export_component


@dataclass
class VAETraining:
    steps: int = 20000
    batch_size: int = 8
    learning_rate: float = 4.5e-5 * 8  # AudioLDM's base rate times the batch size
    kl_weight: float = 1e-6
    segment_s: float = 2.56
    checkpoint_every: int = 500
    sample_every: int = 2000
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"  # or "bfloat16": autocast, weights stay float32
    model: VAEConfig = field(
        default_factory=lambda: VAEConfig(
            block_out_channels=[32, 64, 128], latent_channels=8, layers_per_block=1, norm_num_groups=16
        )
    )


def vae_config_json(config: VAEConfig) -> dict:
    """The published AutoencoderKL config.json for our VAEConfig."""
    blocks = len(config.block_out_channels)
    return {
        "_class_name": "AutoencoderKL",
        **asdict(config),
        "act_fn": "silu",
        "down_block_types": ["DownEncoderBlock2D"] * blocks,
        "up_block_types": ["UpDecoderBlock2D"] * blocks,
    }


def _mel_batch(
    data: ClipFolder, settings: VAETraining, rng: np.random.Generator, mel: MelConfig
) -> torch.Tensor:
    """(B, 1, mel_frames, mel_bins) training features, frames cut to a multiple of the VAE factor."""
    segment = round(settings.segment_s * data.sample_rate)
    features = waveform_to_mel(normalize_waveform(data.batch(settings.batch_size, segment, rng)), mel)
    factor = settings.model.downsample_factor
    return features[:, : features.shape[1] // factor * factor].unsqueeze(1)


def train_vae(
    data_dir: Path,
    run_dir: Path,
    settings: VAETraining,
    progress: Callable[[int, int, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Train (or resume) a VAE in `run_dir`; returns the exported `run_dir / "vae"` component folder."""
    if settings.batch_size < 1:
        raise EngineError("batch size must be 1 or more")
    data = ClipFolder(data_dir)
    mel_config = MelConfig()
    device = torch.device(settings.device)
    torch.manual_seed(settings.seed)
    model = AutoencoderKL(settings.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    run = TrainingRun(
        run_dir, "vae", asdict(settings.model), {"vae": model}, {"vae": optimizer}, settings.seed
    )
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings.dtype == "bfloat16")
    last_batch: list[torch.Tensor] = []

    def train_step(rng: np.random.Generator) -> float:
        mel = _mel_batch(data, settings, rng, mel_config).to(device)
        last_batch[:] = [mel]
        with autocast:
            mean, logvar = model.encode(mel)
            latent = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
            reconstruction = model.decode(latent)
        mean, logvar = mean.float(), logvar.float()
        l1 = (reconstruction.float() - mel).abs().mean()
        kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3)).mean()
        loss = l1 + settings.kl_weight * kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    run.run(
        settings.steps,
        train_step,
        "VAE: L1(log-mel) + KL",
        settings.checkpoint_every,
        settings.sample_every,
        preview=lambda step: _write_preview(model, last_batch[0], run_dir / "samples", step),
        progress=progress,
        cancel=cancel,
    )

    model.eval()
    trained = replace(
        settings.model, scaling_factor=_latent_scaling(model, data, settings, mel_config, device)
    )
    return export_component(
        run_dir / "vae", model, vae_config_json(trained), "diffusion_pytorch_model.safetensors"
    )


@torch.no_grad()
def _latent_scaling(
    model: AutoencoderKL, data: ClipFolder, settings: VAETraining, mel_config: MelConfig, device: torch.device
) -> float:
    rng = np.random.default_rng(settings.seed + 1)
    means = [model.encode(_mel_batch(data, settings, rng, mel_config).to(device))[0] for _ in range(4)]
    return float(1.0 / torch.cat(means).std().clamp_min(1e-6))


@torch.no_grad()
def _write_preview(model: AutoencoderKL, mel: torch.Tensor, folder: Path, step: int) -> None:
    """Input and reconstruction of the first clip of the batch, as Griffin-Lim audio."""
    model.eval()
    reconstruction = model.decode(model.encode(mel[:1])[0]).float()
    model.train()
    folder.mkdir(parents=True, exist_ok=True)
    for name, features in (("input", mel[:1]), ("reconstruction", reconstruction)):
        audio = griffin_lim(features[:, 0].cpu())[0].numpy()
        sf.write(folder / f"step{step:07d}_{name}.wav", audio, 16000, subtype="FLOAT")
