"""Text to audio over a model's parts: condition -> noise -> denoise -> decode -> takes.

The seed's noise covers the whole batch (prompts x variations), as the reference pipelines draw it for a
list of prompts, so the first prompt's takes equal a single request's (on AudioLDM 2 when it is the
longest: T5 pads shorter prompts to the longest, and GPT-2 hears that padding).
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np

from .denoising import Start, denoise
from .model import DiffusionModel
from .preview import Previewer, PreviewSink, cheap_bfloat16
from .requests import GeneratedAudio, GenerationRequest
from .reranking import ranked
from .samplers.common import Progress
from .takes import choose_seed, close_loop

PreviewCosts = dict[tuple[int, ...], float]  # seconds a preview took, by latent shape


def generate_takes(
    model: DiffusionModel,
    request: GenerationRequest,
    prompts: list[str],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    preview: PreviewSink | None = None,
    preview_costs: PreviewCosts | None = None,
) -> list[GeneratedAudio]:
    """`request.variations` takes of each prompt, prompt-major, each with its own prompt; `preview`, when
    given, hears rough versions of the first take while it is denoised (see preview.py)."""
    codec = model.codec
    seed = choose_seed(request.seed)
    duration_s = request.duration_s if request.duration_s is not None else model.native_duration_s
    latent_frames, samples = codec.frames_for(duration_s)
    batch = len(prompts) * request.variations
    cond, uncond = model.conditioner.conditions(request, batch, prompts=prompts)
    start = Start(*model.initial_noise(seed, batch, latent_frames))
    costs = preview_costs if preview_costs is not None else {}
    previewer = None
    if preview is not None:
        bfloat16 = cheap_bfloat16(model.device)
        previewer = Previewer(
            lambda x0: codec.preview(x0, samples, bfloat16),
            preview,
            known_cost=costs.get(tuple(start.noise.shape)),
        )
    latent = denoise(model, request, cond, uncond, start, progress, cancel, previewer)
    if previewer is not None and previewer.last_cost is not None:
        costs[tuple(start.noise.shape)] = previewer.last_cost
    waveforms = codec.decode(latent, circular=request.loop).numpy()  # (batch, >= samples)
    if request.loop:
        period = latent_frames * codec.samples_per_latent_frame
        waveforms = np.stack([close_loop(wave, period, samples) for wave in waveforms])
    waveforms = waveforms[:, :samples].reshape(len(prompts), request.variations, -1)

    results = []
    for prompt, prompt_waveforms in zip(prompts, waveforms, strict=True):
        ran = replace(request, prompt=prompt, seed=seed, duration_s=duration_s)
        takes = [
            GeneratedAudio(
                audio=waveform.copy(),
                sample_rate=model.sample_rate,
                request=ran,
                variation=i + 1,
                model_id=model.model_id,
                licence=model.licence,
            )
            for i, waveform in enumerate(prompt_waveforms)
        ]
        results += ranked(model, ran, takes)
    return results
