"""What both AudioLDM families read the same way: the UNet (denoiser), the VAE and vocoder (codec) and
the training schedule, from a diffusers-layout checkpoint folder."""

from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoints import load_component, read_json
from ..errors import EngineError
from ..models.unet import UNet, UNetConfig
from ..models.vae import AutoencoderKL, VAEConfig
from ..models.vocoder import HifiGan, VocoderConfig
from ..parts.codec import MelCodec
from ..parts.denoiser import UNetDenoiser
from ..parts.schedule import NoiseSchedule, ScheduleConfig


def load_unet_codec_schedule(
    folder: Path,
    unet_class: str,
    family_name: str,
    cross_attention: bool,
    device: torch.device,
    dtype: torch.dtype,
    allow_pickle: bool,
) -> tuple[UNetDenoiser, MelCodec, NoiseSchedule]:
    """The denoiser, the codec and the schedule, placed on `device` in `dtype`."""
    found = read_json(folder / "unet" / "config.json").get("_class_name")
    if found is not None and found != unet_class:
        raise EngineError(
            f"{folder / 'unet' / 'config.json'}: {found} does not belong in an {family_name} checkpoint "
            f"(it needs {unet_class}); is this folder a mix of two checkpoints?"
        )
    # Read into memory, not mapped: `to` copies both into the channels-last layout (load_tensors).
    unet = load_component(folder / "unet", UNet, UNetConfig, "diffusers", allow_pickle, in_memory=True)
    vae = load_component(folder / "vae", AutoencoderKL, VAEConfig, "diffusers", allow_pickle, in_memory=True)
    vocoder = load_component(folder / "vocoder", HifiGan, VocoderConfig, "transformers", allow_pickle)
    schedule = ScheduleConfig.from_dict(read_json(folder / "scheduler" / "scheduler_config.json"))
    if vocoder.config.model_in_dim % vae.config.downsample_factor:
        raise EngineError(
            f"{folder}: the vocoder's {vocoder.config.model_in_dim} mel bins are not divisible by "
            f"the VAE's downsampling factor {vae.config.downsample_factor}"
        )
    if unet.config.in_channels != vae.config.latent_channels:
        raise EngineError(
            f"{folder}: the UNet takes {unet.config.in_channels} latent channels but the VAE makes "
            f"{vae.config.latent_channels}; is this folder a mix of two checkpoints?"
        )
    denoiser = UNetDenoiser(unet, cross_attention).to(device, dtype)
    codec = MelCodec(vae, vocoder, device, dtype).to(device, dtype)
    return denoiser, codec, NoiseSchedule.from_config(schedule)
