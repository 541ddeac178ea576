"""AudioLDM 2 (Liu et al. 2024): CLAP + FLAN-T5 (or VITS) -> projection -> GPT-2's "language of audio"
-> a two-stream cross-attention UNet -> the same VAE and HiFi-GAN as AudioLDM.

Reads a diffusers-layout `AudioLDM2Pipeline` folder (cvssp/audioldm2, -large, -music, and the speech
checkpoints, whose second encoder is VITS reading a transcript) into parts.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoints import load_component
from ..errors import EngineError
from ..language_model import LanguageModel
from ..models.projection import ProjectionConfig, ProjectionModel
from ..parts import Parts
from ..parts.clap_conditioner import ClapConditioner
from ..parts.loa_conditioner import LOAConditioner
from ..text import ClapTextEncoder
from ..text_sequence import load_second_encoder
from .shared import load_unet_codec_schedule

UNET_CLASS = "AudioLDM2UNet2DConditionModel"


def load_parts(
    folder: Path, model_id: str, device: torch.device, dtype: torch.dtype, allow_pickle: bool
) -> Parts:
    if not (folder / "language_model").is_dir():
        raise EngineError(
            f"{folder}: component folder language_model/ is missing (AudioLDM 2 needs its GPT-2)"
        )
    denoiser, codec, schedule = load_unet_codec_schedule(
        folder, UNET_CLASS, "AudioLDM 2", True, device, dtype, allow_pickle
    )
    clap = ClapTextEncoder.load(folder, allow_pickle).to(device, dtype)
    if clap.feature_extractor is None:
        raise EngineError(
            f"{folder / 'text_encoder'}: AudioLDM 2 needs a full ClapModel (text and audio branches)"
        )
    projection = load_component(
        folder / "projection_model", ProjectionModel, ProjectionConfig, "diffusers", allow_pickle
    ).to(device=device, dtype=dtype)
    language_model = LanguageModel.load(folder / "language_model", allow_pickle).to(device, dtype)
    text_encoder_2 = load_second_encoder(folder, allow_pickle).to(device, dtype)
    conditioner = LOAConditioner(
        ClapConditioner(clap, codec.mel_config, dtype, model_id=model_id),
        projection,
        language_model,
        text_encoder_2,
    )
    return Parts(codec, conditioner, denoiser, schedule)
