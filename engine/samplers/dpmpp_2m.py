"""DPM-Solver++(2M) (Lu et al. 2022): data prediction, midpoint form, first order on the last step.

Matches diffusers' DPMSolverMultistepScheduler defaults (order 2, final sigma 0). Works in the VP
parameterisation: alpha_t = 1 / sqrt(1 + s²), sigma_t = s * alpha_t, lambda = log(alpha / sigma).
"""

from __future__ import annotations

import threading

import numpy as np
import torch

from ..parts.schedule import NoiseSchedule
from .common import AfterStep, Denoised, Model, Progress, predict_x0_eps, step_done


def sample_dpmpp_2m(
    model: Model,
    latent: torch.Tensor,
    schedule: NoiseSchedule,
    timesteps: np.ndarray,
    *,
    eta: float = 0.0,  # not used: the solver is deterministic (the limits refuse eta for it)
    generator: torch.Generator | None = None,
    callback: Progress | None = None,
    cancel: threading.Event | None = None,
    first_step: int = 0,
    after_step: AfterStep | None = None,
    denoised: Denoised | None = None,
) -> torch.Tensor:
    """Denoise `latent` (B, C, T, F) over the descending `timesteps` from index `first_step`."""
    on_device = torch.as_tensor(timesteps, device=latent.device)  # one copy, not one per step
    alpha, sigma = schedule.vp_levels(timesteps)  # (steps + 1,) each, ending at the clean level
    lam = torch.log(alpha) - torch.log(sigma)  # +inf at the final, noise-free level
    # The state (latent, x0) stays float32 whatever the model's dtype: bfloat16 rounding would otherwise
    # accumulate over the steps. Only the UNet's input is cast.
    model_dtype, latent = latent.dtype, latent.float()
    previous_x0 = None
    for i in range(first_step, len(timesteps)):
        output = model(latent.to(model_dtype), on_device[i]).float()
        x0, _ = predict_x0_eps(output, latent, alpha[i], sigma[i], schedule.config.prediction_type)
        h = lam[i + 1] - lam[i]
        if previous_x0 is None or i == len(timesteps) - 1:
            x0_blend = x0
        else:
            r = (lam[i] - lam[i - 1]) / h
            x0_blend = x0 + 0.5 / r * (x0 - previous_x0)
        latent = (sigma[i + 1] / sigma[i]) * latent - alpha[i + 1] * torch.expm1(-h) * x0_blend
        previous_x0 = x0
        if after_step is not None:
            latent = after_step(i, latent)
        step_done(i - first_step, len(timesteps) - first_step, callback, cancel, denoised, x0)
    return latent.to(model_dtype)
