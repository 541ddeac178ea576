"""The AudioLDM denoisers: diffusers' UNet2DConditionModel (AudioLDM) and AudioLDM2UNet2DConditionModel.

A latent (B, C, T, F) — T latent time frames, F latent frequency bins — is denoised at one timestep.
AudioLDM conditions on the CLAP text embedding through a "simple projection" class embedding,
concatenated to the timestep embedding (`class_embeddings_concat`), and calls the UNet without a text
sequence, so each transformer block's second attention is self-attention.

AudioLDM 2 has no class embedding. Its `cross_attention_dim` is a list per block, e.g. [None, 768, 1024]:
after each resnet one transformer per entry, in order. A None entry attends to the block itself; the
first two entries read context stream 0 (GPT-2's "language of audio"), later ones stream 1 (T5), each
with its own padding mask. The same code builds both families; the key names are the published ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import SpatialTransformer
from .blocks import Downsample2D, ResnetBlock2D, Upsample2D
from .config import config_from_dict, per_block


@dataclass
class UNetConfig:
    block_out_channels: list[int]
    down_block_types: list[str]
    up_block_types: list[str]
    in_channels: int = 8
    out_channels: int = 8
    sample_size: int = 128
    layers_per_block: int | list[int] = 2
    cross_attention_dim: int | list[int] | list[list[int | None]] = 1280
    attention_head_dim: int | list[int] = 8
    num_attention_heads: int | list[int] | None = None
    transformer_layers_per_block: int | list[int] = 1
    class_embed_type: str | None = None
    projection_class_embeddings_input_dim: int | None = None
    class_embeddings_concat: bool = False
    norm_num_groups: int = 32
    norm_eps: float = 1e-5
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    downsample_padding: int = 1
    mid_block_scale_factor: float = 1.0
    conv_in_kernel: int = 3
    conv_out_kernel: int = 3

    @classmethod
    def from_dict(cls, raw: dict, source: str = "unet/config.json") -> UNetConfig:
        return config_from_dict(
            cls,
            raw,
            source,
            must_equal={
                "act_fn": ("silu",),
                "center_input_sample": (False,),
                "class_embed_type": (None, "simple_projection"),
                "dual_cross_attention": (False,),
                "only_cross_attention": (False,),
                "use_linear_projection": (False,),
                "resnet_time_scale_shift": ("default",),
                "time_embedding_type": ("positional",),
                "mid_block_type": ("UNetMidBlock2DCrossAttn",),
                "addition_embed_type": (None,),
                "encoder_hid_dim": (None,),
                "time_cond_proj_dim": (None,),
                "time_embedding_act_fn": (None,),
                "timestep_post_act": (None,),
                "num_class_embeds": (None,),
                "resnet_skip_time_act": (False,),
                "resnet_out_scale_factor": (1.0, 1),
                "cross_attention_norm": (None,),
                "attention_type": ("default",),
                "reverse_transformer_layers_per_block": (None,),
                "time_embedding_dim": (None,),
            },
        )


def timestep_embedding(
    timesteps: torch.Tensor, dim: int, flip_sin_to_cos: bool, freq_shift: float
) -> torch.Tensor:
    """Sinusoidal embedding of (B,) timesteps -> (B, dim), float32 (DDPM's positional embedding)."""
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32, device=timesteps.device)
    frequencies = torch.exp(exponent / (half - freq_shift))
    angles = timesteps[:, None].float() * frequencies[None, :]
    emb = torch.cat(
        [torch.cos(angles), torch.sin(angles)] if flip_sin_to_cos else [torch.sin(angles), torch.cos(angles)],
        dim=-1,
    )
    return F.pad(emb, (0, 1)) if dim % 2 else emb


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim: int, dim: int):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


Stream = tuple[torch.Tensor | None, torch.Tensor | None]  # (context (B, M, D), mask bias (B, 1, 1, M))


def stream_routes(context_dims: list[int | None]) -> list[int | None]:
    """Which context stream each transformer after a resnet reads (None: itself), diffusers' rule."""
    return [None if dim is None else (0 if j <= 1 else 1) for j, dim in enumerate(context_dims)]


def _transformer_stack(
    channels: int,
    heads: int | None,
    context_dims: list[int | None],
    groups: int,
    transformer_layers: int,
    count: int,
) -> nn.ModuleList | None:
    """After each of `count` resnets, one SpatialTransformer per context dim; None without attention."""
    if heads is None:
        return None
    return nn.ModuleList(
        [
            SpatialTransformer(channels, heads, dim or channels, groups, transformer_layers)
            for _ in range(count)
            for dim in context_dims
        ]
    )


def attend(
    attentions: nn.ModuleList, routes: list[int | None], i: int, x: torch.Tensor, streams: list[Stream]
) -> torch.Tensor:
    """Run the transformers that follow resnet `i`, each on its own stream."""
    for j, route in enumerate(routes):
        context, mask_bias = (None, None) if route is None else streams[route]
        x = attentions[i * len(routes) + j](x, context, mask_bias)
    return x


class DownBlock(nn.Module):
    """Resnets (each followed by a transformer when `heads` is set), then an optional stride-2 downsample."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        temb_channels: int,
        layers: int,
        groups: int,
        eps: float,
        add_downsample: bool,
        downsample_padding: int,
        heads: int | None = None,
        context_dims: list[int | None] = (None,),
        transformer_layers: int = 1,
    ):
        super().__init__()
        self.resnets = nn.ModuleList(
            [
                ResnetBlock2D(
                    in_channels if i == 0 else out_channels, out_channels, temb_channels, groups, eps
                )
                for i in range(layers)
            ]
        )
        self.routes = stream_routes(list(context_dims))
        self.attentions = _transformer_stack(
            out_channels, heads, list(context_dims), groups, transformer_layers, layers
        )
        self.downsamplers = (
            nn.ModuleList([Downsample2D(out_channels, downsample_padding)]) if add_downsample else None
        )

    def forward(
        self, x: torch.Tensor, temb: torch.Tensor, streams: list[Stream]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = attend(self.attentions, self.routes, i, x, streams)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    """Resnets over [x, skip] concatenations (each with a transformer when `heads` is set), then upsample."""

    def __init__(
        self,
        in_channels: int,
        prev_channels: int,
        out_channels: int,
        temb_channels: int,
        layers: int,
        groups: int,
        eps: float,
        add_upsample: bool,
        heads: int | None = None,
        context_dims: list[int | None] = (None,),
        transformer_layers: int = 1,
    ):
        super().__init__()
        self.resnets = nn.ModuleList()
        for i in range(layers):
            skip_channels = in_channels if i == layers - 1 else out_channels
            resnet_in = prev_channels if i == 0 else out_channels
            self.resnets.append(
                ResnetBlock2D(resnet_in + skip_channels, out_channels, temb_channels, groups, eps)
            )
        self.routes = stream_routes(list(context_dims))
        self.attentions = _transformer_stack(
            out_channels, heads, list(context_dims), groups, transformer_layers, layers
        )
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(
        self,
        x: torch.Tensor,
        skips: list[torch.Tensor],
        temb: torch.Tensor,
        streams: list[Stream],
        upsample_size: tuple[int, int] | None,
    ) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips.pop()], dim=1), temb)
            if self.attentions is not None:
                x = attend(self.attentions, self.routes, i, x, streams)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, upsample_size)
        return x


class MidBlock(nn.Module):
    def __init__(
        self,
        channels: int,
        temb_channels: int,
        groups: int,
        eps: float,
        heads: int,
        context_dims: list[int | None],
        transformer_layers: int,
        output_scale_factor: float,
    ):
        super().__init__()
        self.resnets = nn.ModuleList(
            [
                ResnetBlock2D(channels, channels, temb_channels, groups, eps, output_scale_factor)
                for _ in range(2)
            ]
        )
        self.routes = stream_routes(context_dims)
        self.attentions = _transformer_stack(channels, heads, context_dims, groups, transformer_layers, 1)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, streams: list[Stream]) -> torch.Tensor:
        x = self.resnets[0](x, temb)
        x = attend(self.attentions, self.routes, 0, x, streams)
        return self.resnets[1](x, temb)


class UNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = c = config
        channels = list(c.block_out_channels)
        n = len(channels)
        if not (len(c.down_block_types) == len(c.up_block_types) == n):
            raise ValueError(
                "down_block_types, up_block_types and block_out_channels must have equal lengths"
            )
        layers = per_block(c.layers_per_block, n, "layers_per_block")
        # Per block, the context dim of each transformer after a resnet: [D] (AudioLDM), [None, D1, D2] (2).
        context_dims = [
            list(dims) if isinstance(dims, (list, tuple)) else [dims]
            for dims in per_block(c.cross_attention_dim, n, "cross_attention_dim")
        ]
        # diffusers' configs call the head count `attention_head_dim` when num_attention_heads is unset.
        heads = per_block(c.num_attention_heads or c.attention_head_dim, n, "num_attention_heads")
        transformer_layers = per_block(c.transformer_layers_per_block, n, "transformer_layers_per_block")

        time_dim = channels[0] * 4
        self.conv_in = nn.Conv2d(
            c.in_channels, channels[0], c.conv_in_kernel, padding=(c.conv_in_kernel - 1) // 2
        )
        self.time_embedding = TimestepEmbedding(channels[0], time_dim)
        self.class_embedding = None
        if c.class_embed_type == "simple_projection":
            self.class_embedding = nn.Linear(c.projection_class_embeddings_input_dim, time_dim)
        temb_channels = time_dim * 2 if c.class_embeddings_concat else time_dim

        self.down_blocks = nn.ModuleList()
        for i, block_type in enumerate(c.down_block_types):
            if block_type not in ("DownBlock2D", "CrossAttnDownBlock2D"):
                raise ValueError(f"down block type {block_type!r} is not supported")
            attends = block_type == "CrossAttnDownBlock2D"
            self.down_blocks.append(
                DownBlock(
                    channels[max(i - 1, 0)],
                    channels[i],
                    temb_channels,
                    layers[i],
                    c.norm_num_groups,
                    c.norm_eps,
                    add_downsample=i < n - 1,
                    downsample_padding=c.downsample_padding,
                    heads=heads[i] if attends else None,
                    context_dims=context_dims[i],
                    transformer_layers=transformer_layers[i],
                )
            )

        self.mid_block = MidBlock(
            channels[-1],
            temb_channels,
            c.norm_num_groups,
            c.norm_eps,
            heads[-1],
            context_dims[-1],
            transformer_layers[-1],
            c.mid_block_scale_factor,
        )

        self.up_blocks = nn.ModuleList()
        reversed_channels = channels[::-1]
        for i, block_type in enumerate(c.up_block_types):
            if block_type not in ("UpBlock2D", "CrossAttnUpBlock2D"):
                raise ValueError(f"up block type {block_type!r} is not supported")
            attends = block_type == "CrossAttnUpBlock2D"
            j = n - 1 - i  # the matching down block
            self.up_blocks.append(
                UpBlock(
                    reversed_channels[min(i + 1, n - 1)],
                    reversed_channels[max(i - 1, 0)],
                    reversed_channels[i],
                    temb_channels,
                    layers[j] + 1,
                    c.norm_num_groups,
                    c.norm_eps,
                    add_upsample=i < n - 1,
                    heads=heads[j] if attends else None,
                    context_dims=context_dims[j],
                    transformer_layers=transformer_layers[j],
                )
            )

        self.conv_norm_out = nn.GroupNorm(c.norm_num_groups, channels[0], eps=c.norm_eps)
        self.conv_out = nn.Conv2d(
            channels[0], c.out_channels, c.conv_out_kernel, padding=(c.conv_out_kernel - 1) // 2
        )

    def forward(
        self,
        latent: torch.Tensor,
        timestep: torch.Tensor,
        class_condition: torch.Tensor | None = None,
        contexts: tuple[torch.Tensor | None, ...] = (),
        context_masks: tuple[torch.Tensor | None, ...] = (),
    ) -> torch.Tensor:
        """latent (B, C, T, F), timestep () or (B,) -> model output (B, C, T, F).

        class_condition (B, D): AudioLDM's CLAP embedding. contexts: AudioLDM 2's streams, (B, M_k, D_k)
        each, with optional (B, M_k) masks (1 keep, 0 padding).
        """
        c = self.config
        timesteps = timestep.reshape(-1).to(latent.device).expand(latent.shape[0])
        t_emb = timestep_embedding(timesteps, c.block_out_channels[0], c.flip_sin_to_cos, c.freq_shift)
        emb = self.time_embedding(t_emb.to(latent.dtype))  # (B, time_dim)
        if self.class_embedding is not None:
            if class_condition is None:
                raise ValueError("this UNet is conditioned through its class embedding: pass class_condition")
            class_emb = self.class_embedding(class_condition).to(latent.dtype)
            emb = torch.cat([emb, class_emb], dim=-1) if c.class_embeddings_concat else emb + class_emb

        # When T or F is not a multiple of 2**num_upsamplers, each upsample must hit its skip's exact size.
        up_factor = 2 ** (len(self.up_blocks) - 1)
        odd_size = any(size % up_factor for size in latent.shape[-2:])

        streams: list[Stream] = [(None, None), (None, None)]
        for k, context in enumerate(contexts):
            mask = context_masks[k] if k < len(context_masks) else None
            # diffusers' bias: -10000 where masked, broadcast over heads and queries.
            bias = None if mask is None else ((1 - mask.to(latent.dtype)) * -10000.0)[:, None, None, :]
            streams[k] = (context, bias)

        x = self.conv_in(latent)
        skips = [x]
        for block in self.down_blocks:
            x, block_skips = block(x, emb, streams)
            skips.extend(block_skips)
        x = self.mid_block(x, emb, streams)
        for i, block in enumerate(self.up_blocks):
            block_skips = skips[-len(block.resnets) :]
            del skips[-len(block.resnets) :]
            upsample_size = tuple(skips[-1].shape[2:]) if odd_size and i < len(self.up_blocks) - 1 else None
            x = block(x, block_skips, emb, streams, upsample_size)
        return self.conv_out(F.silu(self.conv_norm_out(x)))
