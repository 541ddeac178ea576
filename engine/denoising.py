"""The one sampler call every operation goes through: where sampling starts (noise, or a clip's latent
noised to a strength), which sampler runs, guidance and loops around the denoiser, and inpainting's
re-injection of the known region after every step."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from .model import DiffusionModel
from .parts.conditioner import Condition
from .requests import GenerationRequest
from .samplers import sampler
from .samplers.common import Denoised, Progress, circular, guided


@dataclass
class Start:
    """Where sampling begins: pure noise (generation), or a clip's latent noised to `strength`.

    With `keep` (inpainting) the clip's latent is re-injected after every step where keep is 1.
    """

    noise: torch.Tensor  # (B, C, T, F)
    generator: torch.Generator  # the seed's stream after drawing `noise`
    clip_latent: torch.Tensor | None = None  # (B, C, T, F), scaled latent of the clip
    strength: float = 1.0  # 1: start from pure noise; 0: return clip_latent as it is
    keep: torch.Tensor | None = None  # (1, 1, T, 1)


def denoise(
    model: DiffusionModel,
    request: GenerationRequest,
    cond: Condition,
    uncond: Condition | None,
    start: Start,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    denoised: Denoised | None = None,
) -> torch.Tensor:
    """Sample a latent (B, C, T, F) with the request's sampler from `start` (see Start)."""
    network = guided(model.denoiser, cond, uncond, request.guidance_scale)
    if request.loop:
        network = circular(network, model.denoiser.time_multiple)
    sample, timestep_rule = sampler(request.sampler)
    schedule = model.schedule
    timesteps = schedule.timesteps(timestep_rule, request.steps)
    # diffusers' img2img rule: strength s runs the last int(steps * s) steps of the schedule.
    first_step = len(timesteps) - min(int(request.steps * start.strength), len(timesteps))
    if start.strength >= 1.0 or start.clip_latent is None:
        latent = start.noise
    elif first_step == len(timesteps):
        return start.clip_latent  # strength 0: the clip's own latent, untouched
    else:
        latent = schedule.add_noise(start.clip_latent, start.noise, timesteps[first_step])
    after_step = None
    if start.keep is not None:

        def after_step(i: int, latent: torch.Tensor) -> torch.Tensor:
            # Re-inject the known region, noised to the level the next step starts from (clean after
            # the last), so the regenerated region is always denoised in its true context.
            known = start.clip_latent
            if i + 1 < len(timesteps):
                known = schedule.add_noise(known, start.noise, timesteps[i + 1])
            return start.keep * known + (1 - start.keep) * latent

    return sample(
        network,
        latent,
        schedule,
        timesteps,
        eta=request.eta,
        generator=start.generator,
        callback=progress,
        cancel=cancel,
        first_step=first_step,
        after_step=after_step,
        denoised=denoised,
    )
