"""AudioLDM 2's "language of audio": GPT-2 continues the projected text sequence by N hidden states.

Our own loop over GPT2Model's forward pass with a key/value cache (no transformers generation helpers:
those moved between releases, and a bare GPT2Model no longer has them). Each step feeds the last new
hidden state back as the next input embedding; positions run on from the prompt's length, padding
included, as in the published pipeline.

The cache is transformers' StaticCache, sized once for the prompt plus every new token: its keys and
values are written in place, where the default DynamicCache concatenates (allocates and copies) every
layer's keys and values at every token. The attention mask is likewise made whole once and sliced.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch

from .errors import EngineError, first_line


class LanguageModel:
    def __init__(self, model: torch.nn.Module, new_tokens: int):
        self.model = model
        self.new_tokens = new_tokens  # the checkpoint's max_new_tokens: 8 for sound and music
        # transformers 5 renamed `past_key_values` to `cache` (argument and output); take either.
        parameters = inspect.signature(model.forward).parameters
        self._cache_name = "cache" if "cache" in parameters else "past_key_values"

    @classmethod
    def load(cls, folder: Path, allow_pickle: bool = False) -> LanguageModel:
        from transformers import GPT2Model

        try:
            model = GPT2Model.from_pretrained(folder, use_safetensors=None if allow_pickle else True)
        except Exception as error:
            raise EngineError(f"cannot load the language model in {folder}: {first_line(error)}") from None
        new_tokens = getattr(model.config, "max_new_tokens", None)
        if not isinstance(new_tokens, int) or new_tokens < 1:
            raise EngineError(f"{folder / 'config.json'}: max_new_tokens must be a positive integer")
        return cls(model.eval().requires_grad_(False), new_tokens)

    def to(self, device: torch.device, dtype: torch.dtype) -> LanguageModel:
        self.model.to(device=device, dtype=dtype)
        return self

    def generate(
        self, prompt: torch.Tensor, mask: torch.Tensor, new_tokens: int | None = None
    ) -> torch.Tensor:
        """prompt (B, S, D) input embeddings, mask (B, S) -> (B, new_tokens, D) generated hidden states."""
        from transformers import StaticCache

        new_tokens = new_tokens or self.new_tokens
        batch, length = mask.shape
        cache = StaticCache(config=self.model.config, max_cache_len=length + new_tokens)
        whole_mask = torch.cat([mask, mask.new_ones((batch, new_tokens))], dim=1)  # (B, S + new_tokens)
        generated = prompt.new_empty((batch, new_tokens, prompt.shape[-1]))  # (B, new_tokens, D)
        inputs = prompt
        for i in range(new_tokens):
            output = self.model(
                inputs_embeds=inputs,
                attention_mask=whole_mask[:, : length + i],
                use_cache=True,
                **{self._cache_name: cache},
            )
            generated[:, i] = output.last_hidden_state[:, -1]
            inputs = generated[:, i : i + 1]  # (B, 1, D): the next "token" is this hidden state
        return generated
