"""AudioLDM 2's second text encoder: token-level hidden states (B, L, D) and their mask (B, L).

FLAN-T5's encoder reads the prompt for the sound and music checkpoints. Prompts are padded to the longest
in the batch, or to `min_tokens` when that is longer: the published pipeline pads the negative prompt to
the positive one's length, and GPT-2 sees the padding positions, so the length is part of the sound.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from .errors import EngineError

log = logging.getLogger(__name__)


def pad_tokens(
    ids: torch.Tensor, mask: torch.Tensor, length: int, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) token ids and mask -> (B, max(L, length)), padded on the right with `pad_id` and mask 0."""
    extra = length - ids.shape[1]
    if extra <= 0:
        return ids, mask
    return (
        torch.nn.functional.pad(ids, (0, extra), value=pad_id),
        torch.nn.functional.pad(mask, (0, extra), value=0),
    )


class T5TextEncoder:
    def __init__(self, model: torch.nn.Module, tokenizer):
        self.model, self.tokenizer = model, tokenizer
        self.max_tokens = min(int(tokenizer.model_max_length), 4096)

    @classmethod
    def load(cls, folder: Path, allow_pickle: bool = False) -> T5TextEncoder:
        from transformers import AutoTokenizer, T5EncoderModel

        for part in ("text_encoder_2", "tokenizer_2"):
            if not (folder / part).is_dir():
                raise EngineError(f"{folder}: component folder {part}/ is missing")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer_2")
        except Exception as error:
            raise EngineError(f"cannot load the tokenizer in {folder / 'tokenizer_2'}: {error}") from None
        try:
            model = T5EncoderModel.from_pretrained(
                folder / "text_encoder_2", use_safetensors=None if allow_pickle else True
            )
        except Exception as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise EngineError(
                f"cannot load the T5 encoder in {folder / 'text_encoder_2'}: {first_line}"
            ) from None
        return cls(model.eval().requires_grad_(False), tokenizer)

    def to(self, device: torch.device, dtype: torch.dtype) -> T5TextEncoder:
        self.model.to(device=device, dtype=dtype)
        return self

    def encode(self, texts: list[str], min_tokens: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) strings -> hidden states (B, L, D) in the model dtype and mask (B, L), L >= min_tokens."""
        tokens = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )
        untruncated = self.tokenizer(texts, padding=False, truncation=False)["input_ids"]
        if any(len(ids) > self.max_tokens for ids in untruncated):
            log.warning("prompt truncated to %d tokens, T5's limit", self.max_tokens)
        ids, mask = pad_tokens(
            tokens["input_ids"], tokens["attention_mask"], min_tokens, self.tokenizer.pad_token_id
        )
        device = next(self.model.parameters()).device
        mask = mask.to(device)
        return self.model(input_ids=ids.to(device), attention_mask=mask).last_hidden_state, mask
