"""The steps every generation and edit shares around the sampler: which seed, and how a loop closes.
Written once here so generate and the edits cannot drift apart."""

from __future__ import annotations

import secrets

import numpy as np

from .clip import resample_loop
from .limits import NEW_SEEDS


def choose_seed(seed: int | None) -> int:
    """The request's seed, or a fresh random one (reported with the results, so any take can be rerun)."""
    return seed if seed is not None else secrets.randbelow(NEW_SEEDS)


def close_loop(audio: np.ndarray, period: int, frames: int) -> np.ndarray:
    """One period of a circularly decoded loop, (period, ...) samples, stretched to exactly `frames`."""
    return resample_loop(audio[:period], frames)
