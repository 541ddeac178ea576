"""Training audio from a folder: any readable files, any sample rate or channel count, as 16 kHz mono.

Clips are decoded once (soundfile), mixed to mono, resampled with a polyphase filter and kept in memory;
batches are random segments drawn with the caller's generator, so a run is reproducible from its seed.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from scipy import signal

from ..errors import EngineError

log = logging.getLogger(__name__)


def load_clip(path: Path, sample_rate: int) -> np.ndarray:
    """(samples,) float32 mono at `sample_rate`; raises soundfile's error for unreadable files."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != sample_rate:
        divisor = math.gcd(sample_rate, rate)
        mono = signal.resample_poly(mono, sample_rate // divisor, rate // divisor).astype(np.float32)
    return mono


class ClipFolder:
    """Every decodable audio file under `folder` (recursively), ready to cut into training segments."""

    def __init__(self, folder: Path, sample_rate: int = 16000):
        if not folder.is_dir():
            raise EngineError(f"training data folder {folder} does not exist")
        files = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
        if not files:
            raise EngineError(f"training data folder {folder} is empty")
        self.clips: list[np.ndarray] = []
        skipped = []
        for path in files:
            try:
                clip = load_clip(path, sample_rate)
            except (sf.LibsndfileError, RuntimeError, ValueError):
                skipped.append(path.name)
                continue
            if len(clip) and np.abs(clip).max() > 0:
                self.clips.append(clip)
        if not self.clips:
            raise EngineError(
                f"no readable audio in {folder} ({len(files)} files, none decodable or all silent)"
            )
        if skipped:
            log.warning("skipped %d unreadable files in %s (first: %s)", len(skipped), folder, skipped[0])
        self.sample_rate = sample_rate

    def batch(self, batch_size: int, segment_samples: int, generator: np.random.Generator) -> torch.Tensor:
        """(batch_size, segment_samples) random segments; short clips are zero-padded at the end."""
        indices = [generator.integers(len(self.clips)) for _ in range(batch_size)]
        return self.windows(indices, segment_samples, generator)

    def windows(
        self, indices: list[int], segment_samples: int, generator: np.random.Generator
    ) -> torch.Tensor:
        """(len(indices), segment_samples): a random window of each listed clip, zero-padded when short."""
        out = np.zeros((len(indices), segment_samples), dtype=np.float32)
        for row, index in enumerate(indices):
            clip = self.clips[index]
            start = generator.integers(max(len(clip) - segment_samples, 0) + 1)
            piece = clip[start : start + segment_samples]
            out[row, : len(piece)] = piece
        return torch.from_numpy(out)
