"""The steps every generation and edit shares after the sampler: which seed, how a loop closes, and
whether the takes are re-ranked. Written once here so generate and the edits cannot drift apart."""

from __future__ import annotations

import secrets
from typing import Protocol

import numpy as np

from .clip import resample_loop
from .limits import NEW_SEEDS
from .requests import GeneratedAudio, GenerationRequest


class Reranker(Protocol):
    def rerank(self, request: GenerationRequest, results: list[GeneratedAudio]) -> list[GeneratedAudio]: ...


def choose_seed(seed: int | None) -> int:
    """The request's seed, or a fresh random one (reported with the results, so any take can be rerun)."""
    return seed if seed is not None else secrets.randbelow(NEW_SEEDS)


def close_loop(audio: np.ndarray, period: int, frames: int) -> np.ndarray:
    """One period of a circularly decoded loop, (period, ...) samples, stretched to exactly `frames`."""
    return resample_loop(audio[:period], frames)


def ranked(model: Reranker, request: GenerationRequest, takes: list[GeneratedAudio]) -> list[GeneratedAudio]:
    """The takes best first by CLAP text-audio score when the request asks for it, else as generated."""
    return model.rerank(request, takes) if request.rerank else takes
