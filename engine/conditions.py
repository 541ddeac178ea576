"""What the UNet is conditioned on, typed for both families.

AudioLDM: one CLAP embedding per batch row, (B, D), through the UNet's class embedding. AudioLDM 2: two
cross-attention streams (`Streams`). Samplers and guidance pass either through untouched.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class Streams(NamedTuple):
    """AudioLDM 2's condition; rows are batch items, and guidance concatenates two Streams field by field."""

    loa: torch.Tensor  # (B, N, D_gpt): GPT-2's generated "language of audio" states
    text: torch.Tensor  # (B, L, D_2): T5's (or VITS's) hidden states
    text_mask: torch.Tensor  # (B, L): 1 for tokens, 0 for padding

    def repeat(self, times: int) -> Streams:
        return Streams(*(field.repeat_interleave(times, dim=0) for field in self))


Condition = torch.Tensor | Streams  # (B, D) CLAP embeddings, or AudioLDM 2's streams
