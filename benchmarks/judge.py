"""An independent judge for generated audio: a category classifier trained on real corpus audio only.

It never sees a generation in training and shares no weights or code with the model under test (a 1-D
conv net over log-mel frames, where the model's CLAP audio branch is a 2-D CNN). Its penultimate layer is
the embedding for the Fréchet distance. Trained on `soundloom corpus build` output (seed 1), evaluated on
a disjoint corpus drawn with another seed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from soundloom.engine.audio import MelConfig, normalize_waveform, waveform_to_mel
from soundloom.engine.training.corpus import CATEGORY_NAMES
from soundloom.engine.training.data import load_clip
from torch import nn

FRAMES = 512  # 5.12 s


class Judge(nn.Module):
    def __init__(self, classes: int = len(CATEGORY_NAMES), width: int = 128, embed: int = 128):
        super().__init__()
        layers, channels = [], 64
        for _ in range(4):
            layers += [
                nn.Conv1d(channels, width, 5, padding=2),
                nn.BatchNorm1d(width),
                nn.ReLU(),
                nn.MaxPool1d(2),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Linear(2 * width, embed), nn.ReLU())
        self.classify = nn.Linear(embed, classes)

    def embedding(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, frames, 64) log-mel -> (B, embed)."""
        x = self.features(((mel + 6.0) / 3.0).transpose(1, 2))  # (B, width, frames / 16)
        return self.embed(torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embedding(mel))


def mel_of(audio: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(B, samples) 16 kHz audio -> (B, FRAMES, 64) log-mel, padded with silence or cut."""
    waves = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    mel = waveform_to_mel(normalize_waveform(waves), MelConfig())[:, :FRAMES]
    if mel.shape[1] < FRAMES:
        mel = F.pad(mel, (0, 0, 0, FRAMES - mel.shape[1]), value=float(np.log(1e-5)))
    return mel


def load_split(folder: Path, manifest: str) -> tuple[torch.Tensor, torch.Tensor, list[dict]]:
    """(N, FRAMES, 64) log-mels, (N,) category labels and the manifest entries of a corpus folder."""
    entries = [json.loads(line) for line in (folder / manifest).read_text().splitlines() if line.strip()]
    clips = np.stack([load_clip(folder / entry["file"], 16000)[: FRAMES * 160] for entry in entries])
    mels = torch.cat([mel_of(clips[i : i + 256]) for i in range(0, len(clips), 256)])
    labels = torch.tensor([CATEGORY_NAMES.index(entry["category"]) for entry in entries])
    return mels, labels, entries


def train_judge(train_dir: Path, steps: int = 500, seed: int = 0) -> Judge:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mels, labels, _ = load_split(train_dir, "captions-train.jsonl")
    judge = Judge()
    optimizer = torch.optim.AdamW(judge.parameters(), 1e-3, weight_decay=1e-2)
    started = time.monotonic()
    for step in range(steps):
        index = torch.from_numpy(rng.integers(len(mels), size=64))
        batch = mels[index]
        # Augment: gain (a log-mel offset), a circular time shift, and frequency masking.
        batch = batch + torch.from_numpy(rng.uniform(-1.5, 1.5, (64, 1, 1)).astype(np.float32))
        batch = torch.roll(batch, int(rng.integers(-64, 64)), dims=1)
        low = int(rng.integers(0, 56))
        batch[:, :, low : low + int(rng.integers(0, 8))] = np.log(1e-5)
        loss = F.cross_entropy(judge(batch), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            print(
                f"judge step {step} loss {loss.item():.3f} ({time.monotonic() - started:.0f} s)", flush=True
            )
    return judge.eval()


@torch.no_grad()
def judge_outputs(judge: Judge, mels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted labels (N,), embeddings (N, embed))."""
    embeddings = torch.cat([judge.embedding(mels[i : i + 128]) for i in range(0, len(mels), 128)])
    return judge.classify(embeddings).argmax(dim=1), embeddings


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two embedding sets (N, D), as FID/FAD compute it."""
    from scipy import linalg

    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root.real))


def load_or_train(train_dir: Path, path: Path, steps: int = 500) -> Judge:
    judge = Judge()
    if path.is_file():
        judge.load_state_dict(torch.load(path, weights_only=True))
        return judge.eval()
    judge = train_judge(train_dir, steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(judge.state_dict(), path)
    return judge
