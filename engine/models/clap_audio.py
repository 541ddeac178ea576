"""CLAP audio branch of our own checkpoints: log-mel (B, frames, mel_bins) -> joint-space embedding (B, D).

A small CNN (AudioLDM uses HTSAT; this is the 2-core-CPU sized stand-in, trained contrastively against
the text branch by `soundloom train clap`). Layout: `audio_encoder/config.json` + `model.safetensors`.
Embeddings are L2-normalised by the caller, as CLAP's are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .config import config_from_dict

CLASS_NAME = "SoundloomClapAudioEncoder"


@dataclass
class AudioEncoderConfig:
    mel_bins: int = 64
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    projection_dim: int = 256
    norm_num_groups: int = 8
    # Log-mel is standardised with fixed constants (typical of AudioLDM's log-mel: silence is -11.5).
    mel_mean: float = -6.0
    mel_std: float = 3.0

    @classmethod
    def from_dict(cls, raw: dict, source: str = "audio_encoder/config.json") -> AudioEncoderConfig:
        return config_from_dict(cls, raw, source, must_equal={"_class_name": (CLASS_NAME,)})


class ConvBlock(nn.Module):
    """Two 3x3 convs with GroupNorm and SiLU, then 2x2 average pooling: (B, C, T, F) -> (B, C', T/2, F/2)."""

    def __init__(self, channels_in: int, channels_out: int, groups: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(min(groups, channels_out), channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(min(groups, channels_out), channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.silu(self.norm1(self.conv1(x)))
        x = F.silu(self.norm2(self.conv2(x)))
        return F.avg_pool2d(x, 2, ceil_mode=True)


class AudioEncoder(nn.Module):
    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        self.config = config
        widths = [1, *config.channels]
        self.blocks = nn.ModuleList(
            ConvBlock(widths[i], widths[i + 1], config.norm_num_groups) for i in range(len(config.channels))
        )
        last = config.channels[-1]
        # Mean and max over time: the mean hears textures and beds, the max hears short events.
        self.projection = nn.Sequential(
            nn.Linear(2 * last, config.projection_dim),
            nn.GELU(),
            nn.Linear(config.projection_dim, config.projection_dim),
        )

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, frames, mel_bins) log-mel -> (B, projection_dim), not normalised."""
        x = ((mel - self.config.mel_mean) / self.config.mel_std).unsqueeze(1)  # (B, 1, T, F)
        for block in self.blocks:
            x = block(x)
        x = x.mean(dim=3)  # (B, C, T')
        pooled = torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)  # (B, 2C)
        return self.projection(pooled)


def audio_encoder_config_json(config: AudioEncoderConfig) -> dict:
    from dataclasses import asdict

    return {"_class_name": CLASS_NAME, **asdict(config)}
