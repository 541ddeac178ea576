"""AudioLDM 2's projection model: the two text encoders' outputs -> one GPT-2 input sequence.

CLAP's pooled text embedding (B, 1, D_clap) and the second encoder's hidden states (B, L, D_2: FLAN-T5, or
VITS for the speech checkpoints) are each projected to GPT-2's width, wrapped in learned start/end
embeddings of their own, and concatenated: (B, 1 + 2 + L + 2, D_gpt), with the attention masks alongside.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import config_from_dict


@dataclass
class ProjectionConfig:
    text_encoder_dim: int  # CLAP's projection width
    text_encoder_1_dim: int  # T5's (or VITS's) hidden width
    langauge_model_dim: int  # GPT-2's width; the published key keeps its spelling
    use_learned_position_embedding: bool | None = None  # the speech checkpoints: VITS states get positions
    max_seq_length: int | None = None

    @classmethod
    def from_dict(cls, raw: dict, source: str = "projection_model/config.json") -> ProjectionConfig:
        return config_from_dict(cls, raw, source)


def wrap(
    states: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, end: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L, D) states and (B, L) mask -> (B, L + 2, D) with `start`/`end` (D,) around them, and the mask."""
    batch = states.shape[0]
    ones = mask.new_ones((batch, 1))
    states = torch.cat([start.expand(batch, 1, -1), states, end.expand(batch, 1, -1)], dim=1)
    return states, torch.cat([ones, mask, ones], dim=1)


class ProjectionModel(nn.Module):
    def __init__(self, config: ProjectionConfig):
        super().__init__()
        self.config = c = config
        width = c.langauge_model_dim
        self.projection = nn.Linear(c.text_encoder_dim, width)
        self.projection_1 = nn.Linear(c.text_encoder_1_dim, width)
        self.sos_embed = nn.Parameter(torch.ones(width))
        self.eos_embed = nn.Parameter(torch.ones(width))
        self.sos_embed_1 = nn.Parameter(torch.ones(width))
        self.eos_embed_1 = nn.Parameter(torch.ones(width))
        if c.use_learned_position_embedding is not None:
            if c.max_seq_length is None:
                raise ValueError("use_learned_position_embedding needs max_seq_length")
            self.learnable_positional_embedding = nn.Parameter(
                torch.zeros(1, c.text_encoder_1_dim, c.max_seq_length)
            )

    def forward(
        self,
        clap: torch.Tensor,
        clap_mask: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """clap (B, 1, D_clap), text (B, L, D_2), masks (B, 1) and (B, L) -> (B, L + 5, D_gpt), (B, L + 5)."""
        if self.config.use_learned_position_embedding is not None:
            # (1, D_2, max_seq_length): the VITS states are padded to exactly max_seq_length tokens.
            text = text + self.learnable_positional_embedding.transpose(1, 2)
        first, first_mask = wrap(self.projection(clap), clap_mask, self.sos_embed, self.eos_embed)
        second, second_mask = wrap(self.projection_1(text), text_mask, self.sos_embed_1, self.eos_embed_1)
        return torch.cat([first, second], dim=1), torch.cat([first_mask, second_mask], dim=1)
