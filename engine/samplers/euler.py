"""Euler on the probability-flow ODE in sigma (Karras et al. 2022, Algorithm 1 without churn), as
diffusers' EulerDiscreteScheduler with its defaults (linear sigma interpolation, final sigma 0).

The ODE is solved in the variance-exploding form x = x0 + s * eps (s = sigma / alpha); our latents are
variance-preserving, x_vp = x / sqrt(1 + s²), which is exactly what diffusers' `scale_model_input` feeds
the UNet. diffusers starts from noise times its largest s in VE units (linspace and trailing spacing),
which is the VP latent noise * sigma_max.
"""

from __future__ import annotations

import threading

import numpy as np
import torch

from ..parts.schedule import NoiseSchedule
from .common import AfterStep, Denoised, Model, Progress, predict_x0_eps, step_done


def sample_euler(
    model: Model,
    latent: torch.Tensor,
    schedule: NoiseSchedule,
    timesteps: np.ndarray,
    *,
    eta: float = 0.0,  # not used: this is the deterministic Euler (the limits refuse eta for it)
    generator: torch.Generator | None = None,
    callback: Progress | None = None,
    cancel: threading.Event | None = None,
    first_step: int = 0,
    after_step: AfterStep | None = None,
    denoised: Denoised | None = None,
) -> torch.Tensor:
    """Denoise `latent` (B, C, T, F) over the descending `timesteps` from index `first_step`."""
    on_device = torch.as_tensor(timesteps, device=latent.device)
    alpha, sigma = schedule.vp_levels(timesteps)  # (steps + 1,) each, ending at alpha 1, sigma 0
    s = sigma / alpha  # VE noise levels, ending at 0
    model_dtype, latent = latent.dtype, latent.float()
    if first_step == 0 and (schedule.config.timestep_spacing or "linspace") != "leading":
        latent = latent * sigma[0]  # pure noise at the first level's variance: diffusers' init_noise_sigma
    for i in range(first_step, len(timesteps)):
        output = model(latent.to(model_dtype), on_device[i]).float()
        x0, _ = predict_x0_eps(output, latent, alpha[i], sigma[i], schedule.config.prediction_type)
        x = latent / alpha[i]  # (B, C, T, F) in VE form
        slope = (x - x0) / s[i]  # dx/ds
        latent = (x + slope * (s[i + 1] - s[i])) * alpha[i + 1]
        if after_step is not None:
            latent = after_step(i, latent)
        step_done(i - first_step, len(timesteps) - first_step, callback, cancel, denoised, x0)
    return latent.to(model_dtype)
