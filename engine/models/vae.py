"""The mel-spectrogram VAE: diffusers' AutoencoderKL as AudioLDM publishes it.

A log-mel image (B, 1, mel_frames, mel_bins) is encoded to a diagonal Gaussian over latents
(B, latent_channels, mel_frames / f, mel_bins / f), f = 2 ** (len(block_out_channels) - 1); the decoder
maps latents back to log-mel. `scaling_factor` brings latents to unit variance for the diffusion model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import SpatialSelfAttention
from .blocks import Downsample2D, ResnetBlock2D, Upsample2D
from .config import config_from_dict

EPS = 1e-6  # every norm in the published VAE


@dataclass
class VAEConfig:
    block_out_channels: list[int]
    in_channels: int = 1
    out_channels: int = 1
    latent_channels: int = 8
    layers_per_block: int = 2
    norm_num_groups: int = 32
    scaling_factor: float = 1.0
    sample_size: int = 512

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)

    @classmethod
    def from_dict(cls, raw: dict, source: str = "vae/config.json") -> VAEConfig:
        blocks = len(raw.get("block_out_channels", []))
        return config_from_dict(
            cls,
            raw,
            source,
            must_equal={
                "act_fn": ("silu",),
                "down_block_types": (["DownEncoderBlock2D"] * blocks,),
                "up_block_types": (["UpDecoderBlock2D"] * blocks,),
                "use_quant_conv": (True,),
                "use_post_quant_conv": (True,),
                "mid_block_add_attention": (True,),
                "shift_factor": (None,),
            },
        )


class VAEMidBlock(nn.Module):
    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, None, groups, EPS) for _ in range(2)])
        self.attentions = nn.ModuleList([SpatialSelfAttention(channels, groups, EPS)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class EncoderBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, layers: int, groups: int, add_downsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList(
            [
                ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, None, groups, EPS)
                for i in range(layers)
            ]
        )
        self.downsamplers = nn.ModuleList([Downsample2D(out_channels, padding=0)]) if add_downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        return self.downsamplers[0](x) if self.downsamplers is not None else x


class DecoderBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, layers: int, groups: int, add_upsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList(
            [
                ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, None, groups, EPS)
                for i in range(layers)
            ]
        )
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        return self.upsamplers[0](x) if self.upsamplers is not None else x


class Encoder(nn.Module):
    def __init__(self, c: VAEConfig):
        super().__init__()
        channels = c.block_out_channels
        self.conv_in = nn.Conv2d(c.in_channels, channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            [
                EncoderBlock(
                    channels[max(i - 1, 0)],
                    channels[i],
                    c.layers_per_block,
                    c.norm_num_groups,
                    add_downsample=i < len(channels) - 1,
                )
                for i in range(len(channels))
            ]
        )
        self.mid_block = VAEMidBlock(channels[-1], c.norm_num_groups)
        self.conv_norm_out = nn.GroupNorm(c.norm_num_groups, channels[-1], eps=EPS)
        self.conv_out = nn.Conv2d(channels[-1], 2 * c.latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(x)
        for block in self.down_blocks:
            x = block(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    def __init__(self, c: VAEConfig):
        super().__init__()
        channels = c.block_out_channels[::-1]
        self.conv_in = nn.Conv2d(c.latent_channels, channels[0], 3, padding=1)
        self.mid_block = VAEMidBlock(channels[0], c.norm_num_groups)
        self.up_blocks = nn.ModuleList(
            [
                DecoderBlock(
                    channels[max(i - 1, 0)],
                    channels[i],
                    c.layers_per_block + 1,
                    c.norm_num_groups,
                    add_upsample=i < len(channels) - 1,
                )
                for i in range(len(channels))
            ]
        )
        self.conv_norm_out = nn.GroupNorm(c.norm_num_groups, channels[-1], eps=EPS)
        self.conv_out = nn.Conv2d(channels[-1], c.out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.quant_conv = nn.Conv2d(2 * config.latent_channels, 2 * config.latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(config.latent_channels, config.latent_channels, 1)

    def encode(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, mel_frames, mel_bins) -> unscaled posterior (mean, logvar), each (B, C_latent, T, F)."""
        moments = self.quant_conv(self.encoder(mel))
        mean, logvar = moments.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Unscaled latent (B, latent_channels, T, F) -> log-mel (B, 1, T * f, F * f)."""
        return self.decoder(self.post_quant_conv(latent))
