"""AudioLDM 2's second text encoder: token-level hidden states (B, L, D) and their mask (B, L).

FLAN-T5's encoder reads the prompt for the sound and music checkpoints. Prompts are padded to the longest
in the batch, or to `min_tokens` when that is longer: the published pipeline pads the negative prompt to
the positive one's length, and GPT-2 sees the padding positions, so the length is part of the sound.
The speech checkpoints read the transcript with VITS's text encoder instead (`VitsTextEncoder`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from .checkpoints import read_json
from .errors import EngineError, first_line

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


def load_tokenizer_and_model(folder: Path, model_class, what: str, allow_pickle: bool) -> tuple:
    """(tokenizer_2, text_encoder_2) through transformers; each failure as one line naming the folder."""
    from transformers import AutoTokenizer

    for part in ("text_encoder_2", "tokenizer_2"):
        if not (folder / part).is_dir():
            raise EngineError(f"{folder}: component folder {part}/ is missing")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer_2")
    except Exception as error:
        raise EngineError(f"cannot load the tokenizer in {folder / 'tokenizer_2'}: {error}") from None
    try:
        model = model_class.from_pretrained(
            folder / "text_encoder_2", use_safetensors=None if allow_pickle else True
        )
    except Exception as error:
        raise EngineError(
            f"cannot load the {what} in {folder / 'text_encoder_2'}: {first_line(error)}"
        ) from None
    return tokenizer, model


class T5TextEncoder:
    def __init__(self, model: torch.nn.Module, tokenizer):
        self.model, self.tokenizer = model, tokenizer
        self.max_tokens = min(int(tokenizer.model_max_length), 4096)

    @classmethod
    def load(cls, folder: Path, allow_pickle: bool = False) -> T5TextEncoder:
        from transformers import T5EncoderModel

        tokenizer, model = load_tokenizer_and_model(folder, T5EncoderModel, "T5 encoder", allow_pickle)
        return cls(model.eval().requires_grad_(False), tokenizer)

    def to(self, device: torch.device, dtype: torch.dtype) -> T5TextEncoder:
        """Cast, keeping what transformers keeps in float32 (T5's feed-forward `wo`: its activations
        overflow float16's range, giving inf and NaN, as loading with `torch_dtype` would avoid)."""
        self.model.to(device=device, dtype=dtype)
        if dtype == torch.float16:
            keep = tuple(getattr(self.model, "_keep_in_fp32_modules", None) or ())
            for name, module in self.model.named_modules():
                if name.rsplit(".", 1)[-1] in keep:
                    module.to(torch.float32)
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


VITS_END_TOKEN = 182  # the published pipeline marks the end of a transcript with phoneme id 182


class VitsTextEncoder:
    """The speech checkpoints' second encoder: VITS's text encoder reads the transcript (the words).

    Every transcript is padded to the tokenizer's full length (the projection adds one learned position
    per token), and its first padding token becomes the end token, as in the published pipeline. The
    unconditional side is all zeros with an all-zero mask, as there.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, width: int):
        self.model, self.tokenizer, self.width = model, tokenizer, width
        self.tokens = int(tokenizer.model_max_length)

    @classmethod
    def load(cls, folder: Path, allow_pickle: bool = False) -> VitsTextEncoder:
        from transformers import VitsModel

        tokenizer, model = load_tokenizer_and_model(folder, VitsModel, "VITS encoder", allow_pickle)
        return cls(model.text_encoder.eval().requires_grad_(False), tokenizer, model.config.hidden_size)

    def to(self, device: torch.device, dtype: torch.dtype) -> VitsTextEncoder:
        self.model.to(device=device, dtype=dtype)
        return self

    def encode(self, transcripts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) transcripts -> hidden states (B, tokens, D) and mask (B, tokens)."""
        try:
            tokens = self.tokenizer(
                transcripts,
                padding="max_length",
                max_length=self.tokens,
                truncation=True,
                return_tensors="pt",
            )
        except ImportError as error:  # a phonemizing tokenizer without the phonemizer package
            raise EngineError(
                f"this speech checkpoint's tokenizer needs {error}; pip install phonemizer, and install "
                "espeak-ng (apt-get install espeak-ng)"
            ) from None
        ids, mask = tokens["input_ids"].clone(), tokens["attention_mask"].clone()
        for row in range(len(ids)):
            padding = (ids[row] == 0).nonzero()
            if len(padding):
                ids[row, padding[0, 0]] = VITS_END_TOKEN
                mask[row, padding[0, 0]] = 1
        device = next(self.model.parameters()).device
        mask = mask.to(device)
        states = self.model(ids.to(device), attention_mask=mask, padding_mask=mask.unsqueeze(-1))[0]
        return states, mask

    def unconditional(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The negative side: zero states and a zero mask over the full length."""
        parameter = next(self.model.parameters())
        states = torch.zeros(batch, self.tokens, self.width, device=parameter.device, dtype=parameter.dtype)
        return states, torch.zeros(batch, self.tokens, dtype=torch.long, device=parameter.device)


def load_second_encoder(folder: Path, allow_pickle: bool = False) -> T5TextEncoder | VitsTextEncoder:
    """text_encoder_2/: FLAN-T5 (sound, music) or VITS (speech), by its config's model_type."""
    if not (folder / "text_encoder_2").is_dir():
        raise EngineError(f"{folder}: component folder text_encoder_2/ is missing")
    if read_json(folder / "text_encoder_2" / "config.json").get("model_type") == "vits":
        return VitsTextEncoder.load(folder, allow_pickle)
    return T5TextEncoder.load(folder, allow_pickle)
