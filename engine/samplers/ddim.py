"""DDIM (Song et al. 2020): eta = 0 deterministic, eta = 1 DDPM-like; as diffusers' DDIMScheduler."""

from __future__ import annotations

import threading

import numpy as np
import torch

from ..parts.schedule import NoiseSchedule
from .common import AfterStep, Denoised, Model, Progress, predict_x0_eps, step_done


def sample_ddim(
    model: Model,
    latent: torch.Tensor,
    schedule: NoiseSchedule,
    timesteps: np.ndarray,
    *,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    callback: Progress | None = None,
    cancel: threading.Event | None = None,
    first_step: int = 0,
    after_step: AfterStep | None = None,
    denoised: Denoised | None = None,
) -> torch.Tensor:
    """Denoise `latent` (B, C, T, F) over the descending `timesteps` from index `first_step`."""
    config, alphas_cumprod = schedule.config, schedule.alphas_cumprod
    on_device = torch.as_tensor(timesteps, device=latent.device)  # one copy, not one per step
    final_alpha_bar = torch.tensor(1.0) if config.set_alpha_to_one else alphas_cumprod[0]
    model_dtype, latent = latent.dtype, latent.float()  # the sampler's state stays float32
    for i in range(first_step, len(timesteps)):
        t = timesteps[i]
        # diffusers steps back by n // steps whatever the spacing; matching it keeps seeds reproducible.
        t_prev = t - config.num_train_timesteps // len(timesteps)
        alpha_bar = alphas_cumprod[t]
        alpha_bar_prev = alphas_cumprod[t_prev] if t_prev >= 0 else final_alpha_bar
        output = model(latent.to(model_dtype), on_device[i]).float()
        x0, eps = predict_x0_eps(
            output, latent, alpha_bar**0.5, (1 - alpha_bar) ** 0.5, config.prediction_type
        )
        if config.clip_sample:
            x0 = x0.clamp(-config.clip_sample_range, config.clip_sample_range)
        variance = (1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)
        std = eta * variance**0.5
        latent = alpha_bar_prev**0.5 * x0 + (1 - alpha_bar_prev - std**2) ** 0.5 * eps
        if eta > 0:  # drawn on the CPU in the model dtype, as diffusers does: a seed sounds alike anywhere
            noise = torch.randn(output.shape, generator=generator, dtype=model_dtype)
            latent = latent + std * noise.to(latent.device, torch.float32)
        if after_step is not None:
            latent = after_step(i, latent)
        step_done(i - first_step, len(timesteps) - first_step, callback, cancel, denoised, x0)
    return latent.to(model_dtype)
