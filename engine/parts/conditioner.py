"""The conditioner part: prompts (or a clip) -> what the denoiser is conditioned on, typed for each family.

AudioLDM: one CLAP embedding per batch row, (B, D), through the UNet's class embedding
(`clap_conditioner.py`). AudioLDM 2: two cross-attention streams, `Streams` (`loa_conditioner.py`).
Samplers and guidance pass either through untouched.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import torch

from ..requests import GenerationRequest


class Streams(NamedTuple):
    """AudioLDM 2's condition; rows are batch items, and guidance concatenates two Streams field by field."""

    loa: torch.Tensor  # (B, N, D_gpt): GPT-2's generated "language of audio" states
    text: torch.Tensor  # (B, L, D_2): T5's (or VITS's) hidden states
    text_mask: torch.Tensor  # (B, L): 1 for tokens, 0 for padding

    def repeat(self, times: int) -> Streams:
        return Streams(*(field.repeat_interleave(times, dim=0) for field in self))


Condition = torch.Tensor | Streams  # (B, D) CLAP embeddings, or AudioLDM 2's streams


class Conditioner(Protocol):
    """What a family's conditioning offers the operations (generate, the edits, re-ranking)."""

    sample_rate: int  # the rate `embed_audio` hears waveforms at (the codec's)

    def conditions(
        self,
        request: GenerationRequest,
        batch: int,
        audio_embedding: torch.Tensor | None = None,
        prompts: list[str] | None = None,
    ) -> tuple[Condition, Condition | None]:
        """(cond, uncond) for `batch` rows, prompt-major over `prompts` (default: the request's);
        `audio_embedding` (batch, D) conditions each row on a clip instead (variations). uncond is None
        when guidance is off."""
        ...

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) texts -> (B, D) unit vectors in CLAP's joint space (re-ranking)."""
        ...

    def embed_audio(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, samples) at `sample_rate` -> (B, D) unit vectors in CLAP's joint space (variations)."""
        ...

    def request_problems(self, request: GenerationRequest, model_id: str) -> list[str]:
        """What this conditioning cannot do with an otherwise valid request."""
        ...

    def modules(self) -> list[torch.nn.Module]:
        """Its networks (for counting weights)."""
        ...
