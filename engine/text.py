"""CLAP text conditioning: prompt strings -> L2-normalised joint-space embeddings (B, projection_dim).

The network is transformers' ClapTextModelWithProjection with the checkpoint's own tokenizer; AudioLDM
feeds the normalised projected embedding to the UNet's class embedding.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from .errors import EngineError

log = logging.getLogger(__name__)


class ClapTextEncoder:
    def __init__(self, model: torch.nn.Module, tokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer
        # RoBERTa's learned positions stop at max_position_embeddings (two are reserved for padding).
        positions = getattr(model.config, "max_position_embeddings", 514) - 2
        self.max_tokens = min(tokenizer.model_max_length, positions)

    @classmethod
    def load(cls, folder: Path, allow_pickle: bool) -> ClapTextEncoder:
        from transformers import AutoTokenizer, ClapTextModelWithProjection
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # our own progress is the one a user sees
        for part in ("text_encoder", "tokenizer"):
            if not (folder / part).is_dir():
                raise EngineError(f"{folder}: component folder {part}/ is missing")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
        except Exception as error:
            raise EngineError(f"cannot load the tokenizer in {folder / 'tokenizer'}: {error}") from None
        try:
            model, info = ClapTextModelWithProjection.from_pretrained(
                folder / "text_encoder",
                use_safetensors=None if allow_pickle else True,
                output_loading_info=True,
            )
        except Exception as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise EngineError(
                f"cannot load the text encoder in {folder / 'text_encoder'}: {first_line}"
            ) from None
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
            if info.get(kind):
                keys = sorted(str(key) for key in info[kind])
                raise EngineError(
                    f"{folder / 'text_encoder'}: {kind.replace('_', ' ')}: {keys[0]}"
                    + (f" (and {len(keys) - 1} more)" if len(keys) > 1 else "")
                )
        return cls(model.eval().requires_grad_(False), tokenizer)

    def to(self, device: torch.device, dtype: torch.dtype) -> ClapTextEncoder:
        self.model.to(device=device, dtype=dtype)
        return self

    def encode(self, texts: list[str]) -> torch.Tensor:
        """(B,) strings -> (B, projection_dim) unit vectors in the model's dtype.

        Padding to the longest prompt (not to 512) gives the same embeddings: padding is masked out.
        """
        tokens = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )
        untruncated = self.tokenizer(texts, padding=False, truncation=False)["input_ids"]
        if any(len(ids) > self.max_tokens for ids in untruncated):
            log.warning("prompt truncated to %d tokens, the text encoder's limit", self.max_tokens)
        device = next(self.model.parameters()).device
        output = self.model(
            input_ids=tokens["input_ids"].to(device), attention_mask=tokens["attention_mask"].to(device)
        )
        return F.normalize(output.text_embeds, dim=-1)
