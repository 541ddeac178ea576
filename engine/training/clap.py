"""Training stage `clap`: a contrastive audio encoder / text encoder pair, as CLAP trains them.

Each batch holds B (clip, caption) pairs; the audio and text embeddings (unit vectors) are compared all
against all, and a symmetric cross-entropy pulls matching pairs together. Clips that share a caption
string are all positives of each other (a template corpus repeats captions), so they are not pushed
apart. The text tower is either the pretrained all-MiniLM-L6-v2 (frozen; only the projection learns, and
its pooled embeddings are computed once per caption) or a small BERT trained from scratch.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..audio import MelConfig, normalize_waveform, waveform_to_mel
from ..checkpoints import load_component, read_json
from ..errors import EngineError
from ..models.clap_audio import AudioEncoder, AudioEncoderConfig, audio_encoder_config_json
from ..models.sentence import (
    PRETRAINED_BASE,
    STORED_BASE,
    SentenceEncoderConfig,
    TextProjection,
    config_json,
    mean_pool,
)
from ..text import pretrained_base_folder
from .captioned import CaptionedClips
from .run import TrainingRun, export_component

TEXT_TOWERS = ("pretrained", "scratch")


@dataclass
class ClapTraining:
    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    segment_s: float = 5.12
    # Weight of the pair-alignment term (see alignment_loss): 0 is plain CLAP.
    alignment: float = 0.0
    # Start from an existing pair (a `train clap` run or a soundloom checkpoint folder holding
    # audio_encoder/ and text_encoder/), and optionally keep its audio branch fixed: then only the text
    # projection learns, so a UNet trained on that audio space stays valid.
    init: Path | None = None
    freeze_audio: bool = False
    reset_text: bool = False  # with init: a fresh text projection instead of the init pair's
    # Standard deviation of Gaussian noise added to the pooled sentence embedding, relative to its norm
    # (so 1.0 is a noise vector about as long as the embedding). The projection learns from a few hundred
    # template captions; noise makes it map a neighbourhood of each, so wording it never saw (but the
    # frozen sentence encoder places nearby) lands on the same audio. See input_noise.
    text_noise: float = 0.0
    text_tower: str = "pretrained"  # or "scratch": a small BERT on MiniLM's vocabulary, trained here
    scratch_layers: int = 2
    scratch_width: int = 128
    checkpoint_every: int = 500
    seed: int = 0
    device: str = "cpu"
    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)


class LogitScale(nn.Module):
    """CLAP's learned temperature, stored as log(1 / T) and capped at 100 as CLIP does."""

    def __init__(self) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self) -> torch.Tensor:
        return self.value.clamp(max=math.log(100.0)).exp()


def contrastive_loss(
    audio: torch.Tensor, text: torch.Tensor, caption_ids: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """audio, text (B, D) unit vectors; caption_ids (B,) equal where captions are equal."""
    logits = scale * audio @ text.T  # (B, B)
    targets = (caption_ids[:, None] == caption_ids[None, :]).float()
    targets = targets / targets.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


def alignment_loss(audio: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between paired unit vectors (B, D): it narrows CLAP's modality gap.

    The contrastive loss only ranks pairs, so text and audio embeddings may settle in two separate
    cones of the joint space. AudioLDM's LDM trains on audio embeddings and generates from text ones,
    so the closer a caption's text embedding lies to its clips' audio embeddings, the more in-distribution
    the generation condition is.
    """
    return (audio - text).pow(2).sum(dim=1).mean()


def input_noise(pooled: torch.Tensor, relative_std: float) -> torch.Tensor:
    """(B, H) pooled sentence embeddings plus isotropic Gaussian noise whose expected norm is
    relative_std x each embedding's norm."""
    per_dim = relative_std * pooled.norm(dim=1, keepdim=True) / math.sqrt(pooled.shape[1])
    return pooled + per_dim * torch.randn_like(pooled)


class MelBank:
    """Every clip's log-mel, computed once; batches are random windows of `frames` frames."""

    def __init__(self, clips: list[np.ndarray], mel: MelConfig):
        self.mel = mel
        self.features = [
            waveform_to_mel(normalize_waveform(torch.from_numpy(clip)[None]), mel)[0] for clip in clips
        ]  # each (frames_i, mel_bins)

    def windows(self, indices: np.ndarray, frames: int, rng: np.random.Generator | None) -> torch.Tensor:
        """(len(indices), frames, mel_bins) at random starts (rng None: the first frames); short clips
        are padded with silence."""
        silence = math.log(self.mel.log_floor)
        out = torch.full((len(indices), frames, self.mel.mel_bins), silence)
        for row, index in enumerate(indices):
            feature = self.features[index]
            start = 0 if rng is None else rng.integers(max(len(feature) - frames, 0) + 1)
            piece = feature[start : start + frames]
            out[row, : len(piece)] = piece
        return out


@torch.no_grad()
def first_window_embeddings(
    audio_encoder: AudioEncoder, bank: MelBank, frames: int, device: torch.device, batch: int = 64
) -> torch.Tensor:
    """(clips, D) unit CLAP audio embedding of every clip's first `frames` frames."""
    embeddings = []
    for start in range(0, len(bank.features), batch):
        indices = np.arange(start, min(start + batch, len(bank.features)))
        embeddings.append(F.normalize(audio_encoder(bank.windows(indices, frames, None).to(device)), dim=-1))
    return torch.cat(embeddings)


class ScratchTextTower(nn.Module):
    """A small BERT on MiniLM's WordPiece vocabulary, randomly initialised, trained with the projection."""

    def __init__(self, layers: int, width: int, vocab_size: int):
        super().__init__()
        from transformers import BertConfig, BertModel

        self.base = BertModel(
            BertConfig(
                vocab_size=vocab_size,
                hidden_size=width,
                num_hidden_layers=layers,
                num_attention_heads=max(1, width // 32),
                intermediate_size=4 * width,
                max_position_embeddings=128,
            ),
            add_pooling_layer=False,
        )

    def forward(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.base(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
        return mean_pool(hidden.last_hidden_state, tokens["attention_mask"])  # (B, width)


@torch.no_grad()
def pooled_pretrained(captions: list[str], batch: int = 256) -> torch.Tensor:
    """(N, 384) mean-pooled all-MiniLM-L6-v2 embeddings of the captions."""
    from transformers import AutoTokenizer, BertModel

    folder = pretrained_base_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    base = BertModel.from_pretrained(folder, use_safetensors=True, add_pooling_layer=False).eval()
    pooled = []
    for start in range(0, len(captions), batch):
        tokens = tokenizer(
            captions[start : start + batch], padding=True, truncation=True, return_tensors="pt"
        )
        hidden = base(**tokens).last_hidden_state
        pooled.append(mean_pool(hidden, tokens["attention_mask"]))
    return torch.cat(pooled)


def load_pair(folder: Path) -> tuple[AudioEncoder, TextProjection, SentenceEncoderConfig]:
    """The audio encoder, text projection (float32) and text config of a CLAP run or soundloom checkpoint."""
    if not all((folder / name / "config.json").is_file() for name in ("audio_encoder", "text_encoder")):
        raise EngineError(f"{folder} holds no CLAP pair (audio_encoder/ and text_encoder/)")
    audio = load_component(folder / "audio_encoder", AudioEncoder, AudioEncoderConfig, "transformers")
    text_config = SentenceEncoderConfig.from_dict(read_json(folder / "text_encoder" / "config.json"))
    if text_config.base_model != PRETRAINED_BASE:
        raise EngineError(f"{folder}/text_encoder is not on the pretrained text tower ({PRETRAINED_BASE})")
    text = load_component(folder / "text_encoder", TextProjection, SentenceEncoderConfig, "transformers")
    return audio.float(), text.float(), text_config


def train_clap(
    data_dir: Path,
    run_dir: Path,
    settings: ClapTraining,
    progress: Callable[[int, int, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Train (or resume) in `run_dir`; exports `run_dir/audio_encoder` and `run_dir/text_encoder`."""
    if settings.text_tower not in TEXT_TOWERS:
        raise EngineError(f"text tower must be one of {TEXT_TOWERS}, got {settings.text_tower!r}")
    if settings.batch_size < 2:
        raise EngineError("contrastive training needs a batch size of 2 or more")
    if settings.text_noise < 0 or settings.alignment < 0:
        raise EngineError(
            f"text noise and alignment must be 0 or more (got {settings.text_noise}, {settings.alignment})"
        )
    if settings.reset_text and settings.init is None:
        raise EngineError("resetting the text projection needs a pair to start from (init)")
    from transformers import AutoTokenizer

    data = CaptionedClips(data_dir)
    mel = MelConfig()
    bank = MelBank(data.clips, mel)
    frames = round(settings.segment_s * mel.sample_rate / mel.hop_length)
    caption_names = sorted(set(data.captions))
    caption_ids = torch.tensor([caption_names.index(caption) for caption in data.captions])
    device = torch.device(settings.device)

    torch.manual_seed(settings.seed)
    pretrained = settings.text_tower == "pretrained"
    if settings.init is None:
        if settings.freeze_audio:
            raise EngineError("a frozen audio branch needs a pair to start from (init)")
        audio_config = settings.audio
        text_config = SentenceEncoderConfig(
            base_model=PRETRAINED_BASE if pretrained else STORED_BASE,
            base_dim=384 if pretrained else settings.scratch_width,
            projection_dim=audio_config.projection_dim,
        )
        audio_encoder = AudioEncoder(audio_config)
        projection = TextProjection(text_config)
    else:
        if not pretrained:
            raise EngineError("starting from an existing pair works with the pretrained text tower only")
        audio_encoder, projection, text_config = load_pair(settings.init)
        audio_config = audio_encoder.config
        if settings.reset_text:
            projection = TextProjection(text_config)
    audio_encoder.to(device).requires_grad_(not settings.freeze_audio)
    projection.to(device).requires_grad_(True)
    scale = LogitScale().to(device)
    modules: dict[str, nn.Module] = {"audio_encoder": audio_encoder, "projection": projection, "scale": scale}
    if settings.freeze_audio:
        frozen_audio = first_window_embeddings(audio_encoder, bank, frames, device)  # (clips, D)
    if pretrained:
        pooled_by_caption = pooled_pretrained(caption_names).to(device)  # (captions, 384)
    else:  # the scratch tower reads MiniLM's WordPiece vocabulary, nothing else of it
        tokenizer = AutoTokenizer.from_pretrained(pretrained_base_folder())
        tower = ScratchTextTower(settings.scratch_layers, settings.scratch_width, tokenizer.vocab_size)
        modules["tower"] = tower.to(device)
    parameters = [p for module in modules.values() for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=0.01)
    identity = {"text": asdict(text_config), "audio": asdict(audio_config), "tower": settings.text_tower}
    run = TrainingRun(run_dir, "clap", identity, modules, {"clap": optimizer}, settings.seed)

    def text_pooled(indices: np.ndarray) -> torch.Tensor:
        if pretrained:
            return pooled_by_caption[caption_ids[indices]]
        texts = [data.captions[i] for i in indices]
        tokens = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        return modules["tower"]({key: value.to(device) for key, value in tokens.items()})

    def train_step(rng: np.random.Generator) -> float:
        indices = rng.choice(len(data), size=min(settings.batch_size, len(data)), replace=False)
        if settings.freeze_audio:
            audio = frozen_audio[indices]
        else:
            audio = F.normalize(audio_encoder(bank.windows(indices, frames, rng).to(device)), dim=-1)
        pooled = text_pooled(indices)  # (B, base_dim)
        if settings.text_noise:
            pooled = input_noise(pooled, settings.text_noise)
        text = F.normalize(projection(pooled), dim=-1)
        loss = contrastive_loss(audio, text, caption_ids[indices].to(device), scale())
        if settings.alignment:
            loss = loss + settings.alignment * alignment_loss(audio, text)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    run.run(
        settings.steps,
        train_step,
        "CLAP: symmetric contrastive loss",
        settings.checkpoint_every,
        progress=progress,
        cancel=cancel,
    )
    export_component(
        run_dir / "audio_encoder",
        audio_encoder,
        audio_encoder_config_json(audio_config),
        "model.safetensors",
    )
    text_dir = export_component(
        run_dir / "text_encoder", projection, config_json(text_config), "model.safetensors"
    )
    if not pretrained:
        modules["tower"].base.save_pretrained(text_dir / STORED_BASE, safe_serialization=True)
        tokenizer.save_pretrained(text_dir / STORED_BASE)
    return run_dir
