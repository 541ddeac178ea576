"""Attention layers: multi-head attention, the UNet's transformer block, and the VAE's spatial attention.

All attention runs through `F.scaled_dot_product_attention` (fused kernels on CUDA, a fused CPU path on
the CPU). Parameter names follow the published checkpoints (to_q, to_k, to_v, to_out.0, ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head attention of `query` over `context` (itself when context is None)."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, head_dim: int, qkv_bias: bool = False):
        super().__init__()
        inner_dim = heads * head_dim
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner_dim, bias=qkv_bias)
        self.to_k = nn.Linear(context_dim, inner_dim, bias=qkv_bias)
        self.to_v = nn.Linear(context_dim, inner_dim, bias=qkv_bias)
        self.to_out = nn.ModuleList([nn.Linear(inner_dim, query_dim)])

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask_bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        # x: (B, N, query_dim), context: (B, M, context_dim), mask_bias: (B, 1, 1, M) -> (B, N, query_dim)
        context = x if context is None else context
        batch, tokens, _ = x.shape
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)  # (B, N|M, heads * head_dim)
        q, k, v = (
            t.view(batch, -1, self.heads, t.shape[-1] // self.heads).transpose(1, 2) for t in (q, k, v)
        )
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask_bias)  # (B, heads, N, head_dim)
        out = out.transpose(1, 2).reshape(batch, tokens, -1)
        return self.to_out[0](out)


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        # Index 1 is a dropout in the published layout; keeping the slot keeps the key names (net.2).
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Identity(), nn.Linear(dim * mult, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[2](self.net[0](x))


class TransformerBlock(nn.Module):
    """Pre-norm self-attention, second attention (over `context`, or self when there is none), GEGLU MLP."""

    def __init__(self, dim: int, heads: int, head_dim: int, context_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads, head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim, heads, head_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask_bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        # x: (B, N, dim)
        x = x + self.attn1(self.norm1(x))
        # Without a context attn2 attends to x: AudioLDM's text arrives as the class embedding, and each
        # AudioLDM 2 block has one such "double self-attention" transformer beside its two streams.
        x = x + self.attn2(self.norm2(x), context, mask_bias)
        return x + self.ff(self.norm3(x))


class SpatialTransformer(nn.Module):
    """diffusers' Transformer2DModel: norm, 1x1 in, transformer blocks over H*W tokens, 1x1 out, residual."""

    def __init__(self, channels: int, heads: int, context_dim: int, groups: int, layers: int = 1):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.transformer_blocks = nn.ModuleList(
            [TransformerBlock(channels, heads, channels // heads, context_dim) for _ in range(layers)]
        )
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask_bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        # x: (B, C, H, W) -> (B, C, H, W)
        batch, channels, height, width = x.shape
        h = self.proj_in(self.norm(x))
        h = h.permute(0, 2, 3, 1).reshape(batch, height * width, channels)  # (B, H*W, C)
        for block in self.transformer_blocks:
            h = block(h, context, mask_bias)
        h = h.reshape(batch, height, width, channels).permute(0, 3, 1, 2)
        return self.proj_out(h.contiguous()) + x


class SpatialSelfAttention(nn.Module):
    """The VAE's single-head attention over all positions, with GroupNorm in front and a residual."""

    def __init__(self, channels: int, groups: int, eps: float = 1e-6):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W) -> (B, C, H, W)
        batch, channels, height, width = x.shape
        h = self.group_norm(x).view(batch, channels, height * width).transpose(1, 2)  # (B, H*W, C)
        q, k, v = (proj(h).unsqueeze(1) for proj in (self.to_q, self.to_k, self.to_v))  # (B, 1, H*W, C)
        out = F.scaled_dot_product_attention(q, k, v).squeeze(1)
        out = self.to_out[0](out).transpose(1, 2).reshape(batch, channels, height, width)
        return out + x
