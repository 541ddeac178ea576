"""AudioLDM (Liu et al. 2023): CLAP text embedding -> UNet through its class embedding -> VAE -> HiFi-GAN.

Reads a diffusers-layout `AudioLDMPipeline` folder (the published cvssp/audioldm-* checkpoints and the
built-in model) into parts. Published v1 checkpoints carry only CLAP's text branch; the built-in model
adds its own audio encoder (`audio_encoder/`), a full ClapModel both branches.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoints import load_component
from ..models.clap_audio import AudioEncoder, AudioEncoderConfig
from ..parts import Parts
from ..parts.clap_conditioner import ClapConditioner
from ..text import load_text_encoder
from .shared import load_unet_codec_schedule

UNET_CLASS = "UNet2DConditionModel"


def load_parts(
    folder: Path, model_id: str, device: torch.device, dtype: torch.dtype, allow_pickle: bool
) -> Parts:
    denoiser, codec, schedule = load_unet_codec_schedule(
        folder, UNET_CLASS, "AudioLDM", False, device, dtype, allow_pickle
    )
    text_encoder = load_text_encoder(folder, allow_pickle).to(device, dtype)
    audio_encoder = None
    if (folder / "audio_encoder").is_dir():
        audio_encoder = load_component(
            folder / "audio_encoder", AudioEncoder, AudioEncoderConfig, "transformers", allow_pickle
        )
        audio_encoder.to(device=device, dtype=dtype)
    conditioner = ClapConditioner(text_encoder, codec.mel_config, dtype, audio_encoder, model_id)
    return Parts(codec, conditioner, denoiser, schedule)
