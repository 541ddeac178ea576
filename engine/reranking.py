"""Re-ranking: takes ordered by how well they match the prompt, by CLAP text-audio similarity."""

from __future__ import annotations

import numpy as np
import torch

from .clip import resample
from .model import DiffusionModel
from .requests import GeneratedAudio, GenerationRequest


@torch.inference_mode()
def rerank(
    model: DiffusionModel, request: GenerationRequest, takes: list[GeneratedAudio]
) -> list[GeneratedAudio]:
    """Score each take by CLAP text-audio cosine similarity (channels averaged); best first."""
    conditioner = model.conditioner
    text = conditioner.embed_text([request.prompt]).float()  # (1, D)
    for take in takes:
        frames = take.audio.reshape(len(take.audio), -1)  # (samples, channels)
        at_model_rate = resample(frames, take.sample_rate, conditioner.sample_rate).T  # (channels, samples)
        audio = conditioner.embed_audio(torch.from_numpy(np.ascontiguousarray(at_model_rate))).float()
        take.score = float((audio @ text.T).mean())
    return sorted(takes, key=lambda take: -take.score)


def ranked(
    model: DiffusionModel, request: GenerationRequest, takes: list[GeneratedAudio]
) -> list[GeneratedAudio]:
    """The takes best first by CLAP text-audio score when the request asks for it, else as generated."""
    return rerank(model, request, takes) if request.rerank else takes
