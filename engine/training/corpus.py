"""The captioned training corpus: every clip rendered on the fly, deterministic from (seed, index).

Categories rotate with the index, so any prefix of the corpus is balanced. Each clip is mono float32 at
16 kHz, exactly `duration_s` long (padded with silence or cut with a 20 ms fade), peak-normalised.
`split="heldout"` gives the same audio with captions from paraphrases never used in training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .captions import CATEGORIES, caption
from .instruments import PROGRAMS, drums, melodic
from .procedural import GENERATORS
from .speech import speech

SAMPLE_RATE = 16000
CATEGORY_NAMES = tuple(CATEGORIES)
FADE_S = 0.02


@dataclass
class CorpusItem:
    audio: np.ndarray = field(repr=False)  # (samples,) float32
    caption: str
    category: str
    attribute: str
    seed: int
    index: int


def category_for(index: int) -> str:
    """Categories rotate with the index, so every prefix of the corpus is balanced."""
    return CATEGORY_NAMES[index % len(CATEGORY_NAMES)]


def _render(category: str, rng: np.random.Generator, samples: int) -> tuple[np.ndarray, str]:
    if category in GENERATORS:
        return GENERATORS[category](rng, samples, SAMPLE_RATE)
    if category in PROGRAMS:
        return melodic(category, rng, SAMPLE_RATE)
    if category == "drums":
        return drums(rng, SAMPLE_RATE)
    return speech(rng, SAMPLE_RATE)


def fit_length(audio: np.ndarray, samples: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Pad with silence or cut to `samples`, fading out over the last 20 ms when cut."""
    if len(audio) >= samples:
        audio = audio[:samples].copy()
        fade = min(int(FADE_S * sample_rate), samples)
        audio[samples - fade :] *= np.linspace(1.0, 0.0, fade)
        return audio
    return np.pad(audio, (0, samples - len(audio)))


def make_item(seed: int, index: int, duration_s: float = 5.12, split: str = "train") -> CorpusItem:
    """Clip number `index` of the corpus drawn with `seed`."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    category = category_for(index)
    rng = np.random.default_rng([seed, index])
    samples = round(duration_s * SAMPLE_RATE)
    audio, attribute = _render(category, rng, samples)
    audio = fit_length(np.asarray(audio, dtype=np.float64), samples)
    peak = np.abs(audio).max()
    if peak > 0:
        audio = audio * (0.9 / peak)
    # The caption has its own stream, so the held-out split changes the words and never the audio.
    text = caption(category, attribute, np.random.default_rng([seed, index, 1]), split)
    return CorpusItem(audio.astype(np.float32), text, category, attribute, seed, index)
