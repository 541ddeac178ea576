"""The tiny training setups the training-stage tests share: model sizes, settings, a captioned corpus."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
from soundloom.engine.models.clap_audio import AudioEncoderConfig
from soundloom.engine.models.vocoder import VocoderConfig
from soundloom.engine.training.clap import ClapTraining
from soundloom.engine.training.corpus import CATEGORY_NAMES, make_item
from soundloom.engine.training.ldm import (
    LDMTraining,
)
from soundloom.engine.training.vocoder import VocoderTraining

TINY_VOCODER = VocoderConfig(
    upsample_initial_channel=32,
    upsample_kernel_sizes=[10, 8, 4, 4, 4],
    resblock_kernel_sizes=[3],
    resblock_dilation_sizes=[[1, 3]],
)
TINY_AUDIO = AudioEncoderConfig(channels=[8, 16], projection_dim=16, norm_num_groups=4)
TINY_UNET = {
    "sample_size": 8,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [16, 32],
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "layers_per_block": 1,
    "cross_attention_dim": [16, 32],
    "attention_head_dim": 4,
    "norm_num_groups": 8,
    "class_embed_type": "simple_projection",
    "projection_class_embeddings_input_dim": 16,
    "class_embeddings_concat": True,
}


def mean_drop(losses: list[float], window: int) -> float:
    """Mean of the last `window` losses over the mean of the first `window`."""
    return float(np.mean(losses[-window:]) / np.mean(losses[:window]))


def build_corpus(folder: Path) -> Path:
    """A captioned folder: one 1 s clip per category, with captions-train.jsonl."""
    (folder / "clips").mkdir(parents=True)
    lines = []
    for index in range(len(CATEGORY_NAMES)):
        item = make_item(0, index, duration_s=1.0)
        name = f"clips/{index:02d}_{item.category}.wav"
        sf.write(folder / name, item.audio, 16000, subtype="FLOAT")
        lines.append(json.dumps({"file": name, "caption": item.caption, "category": item.category}))
    (folder / "captions-train.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def vocoder_settings(steps: int, **changes) -> VocoderTraining:
    return VocoderTraining(
        steps=steps,
        batch_size=4,
        segment_frames=8,
        learning_rate=2e-3,
        adversarial_start=30,
        discriminator_width=2,
        checkpoint_every=5,
        sample_every=1000,
        model=replace(TINY_VOCODER),
        **changes,
    )


def clap_settings(steps: int, **changes) -> ClapTraining:
    return ClapTraining(
        steps=steps,
        batch_size=8,
        segment_s=0.64,
        learning_rate=3e-3,
        checkpoint_every=5,
        scratch_layers=1,
        scratch_width=32,
        audio=replace(TINY_AUDIO),
        **changes,
    )


def ldm_settings(steps: int, **changes) -> LDMTraining:
    return LDMTraining(
        steps=steps,
        batch_size=4,
        segment_s=0.64,
        learning_rate=2e-3,
        warmup_steps=1,
        checkpoint_every=5,
        sample_every=1000,
        unet=dict(TINY_UNET),
        **changes,
    )
