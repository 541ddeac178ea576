"""Samplers: plain functions over a denoiser, a latent and the training schedule.

`model(latent, t)` returns the network's raw output for a latent at training timestep t: ε, v or x₀,
as the checkpoint's `prediction_type` says. Classifier-free guidance is a wrapper (`guided`) around such
a model, not a branch inside the samplers. Each sampler calls `callback(step, total)` after every step,
`denoised(step, total, x0)` with its current estimate of the clean latent (previews, `preview.py`), and
stops with GenerationCancelled between steps when `cancel` is set.

All latents are (B, C, T, F). Noise comes from a CPU `torch.Generator`, so a seed gives the same sound on
every device (and the same as diffusers' pipelines with `torch.Generator("cpu").manual_seed(seed)`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import GenerationCancelled
from .schedule import ScheduleConfig, ddim_timesteps, dpm_timesteps


@dataclass
class Start:
    """Where sampling begins: pure noise (generation), or a clip's latent noised to `strength`.

    With `keep` (inpainting) the clip's latent is re-injected after every step where keep is 1.
    """

    noise: torch.Tensor  # (B, C, T, F)
    generator: torch.Generator  # the seed's stream after drawing `noise`
    clip_latent: torch.Tensor | None = None  # (B, C, T, F), scaled VAE latent of the clip
    strength: float = 1.0  # 1: start from pure noise; 0: return clip_latent as it is
    keep: torch.Tensor | None = None  # (1, 1, T, 1)


Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]
Denoised = Callable[[int, int, torch.Tensor], None]  # (steps done, total, x0 (B, C, T, F) float32)
# after_step(i, latent) -> latent: runs after step i; inpainting re-injects the known region there.
AfterStep = Callable[[int, torch.Tensor], torch.Tensor]


def guided(model: Callable[..., torch.Tensor], cond: Any, uncond: Any | None, guidance_scale: float) -> Model:
    """Classifier-free guidance: one batched call on [uncond; cond], then uncond + g * (cond - uncond).

    `cond`/`uncond` are the conditions passed to `model(latent, t, condition)`: a tensor (B, ...), or a
    NamedTuple of such tensors (AudioLDM 2's streams), batched field by field. With `uncond` None
    (guidance_scale <= 1) the model is called on `cond` alone.
    """
    if uncond is None:
        return lambda latent, t: model(latent, t, cond)
    if isinstance(cond, torch.Tensor):
        both = torch.cat([uncond, cond])
    else:
        both = type(cond)(*(torch.cat(pair) for pair in zip(uncond, cond, strict=True)))

    def denoise(latent: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out_uncond, out_cond = model(torch.cat([latent, latent]), t, both).chunk(2)
        return out_uncond + guidance_scale * (out_cond - out_uncond)

    return denoise


def circular(model: Model, multiple: int) -> Model:
    """Seamless loops: the model denoises the latent (B, C, T, F) as one period of a circle.

    Each call sees the latent wrapped around by a quarter of its length on both sides (so frames at the
    wrap point have their true neighbours) and rolled by a shift that changes with t (so the padded
    edges fall somewhere else at every step). Pads and shifts are multiples of `multiple`, the UNet's
    time downsampling, so its grid stays aligned.
    """

    def denoise(latent: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        frames = latent.shape[2]
        positions = max(frames // multiple, 1)
        shift = (int(t) * 7919) % positions * multiple  # 7919 (prime): shifts spread over the loop
        pad = min(-(-frames // (4 * multiple)) * multiple, frames)
        rolled = torch.roll(latent, shift, dims=2)
        wrapped = torch.cat([rolled[:, :, frames - pad :], rolled, rolled[:, :, :pad]], dim=2)
        output = model(wrapped, t)[:, :, pad : pad + frames]
        return torch.roll(output, -shift, dims=2)

    return denoise


def predict_x0_eps(
    output: torch.Tensor, latent: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor, prediction_type: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn the model's output at x_t = alpha * x0 + sigma * eps into (x0, eps) estimates."""
    if prediction_type == "epsilon":
        return (latent - sigma * output) / alpha, output
    if prediction_type == "v_prediction":
        return alpha * latent - sigma * output, alpha * output + sigma * latent
    return output, (latent - alpha * output) / sigma  # "sample": the model predicts x0


def _step_done(
    step: int,
    total: int,
    callback: Progress | None,
    cancel: threading.Event | None,
    denoised: Denoised | None,
    x0: torch.Tensor,
) -> None:
    if callback is not None:
        callback(step + 1, total)
    if cancel is not None and cancel.is_set() and step + 1 < total:
        raise GenerationCancelled("generation cancelled")
    if denoised is not None:  # after the cancel check: a cancelled job decodes no preview first
        denoised(step + 1, total, x0)


def sample_ddim(
    model: Model,
    latent: torch.Tensor,
    config: ScheduleConfig,
    alphas_cumprod: torch.Tensor,
    *,
    steps: int,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    callback: Progress | None = None,
    cancel: threading.Event | None = None,
    first_step: int = 0,
    after_step: AfterStep | None = None,
    denoised: Denoised | None = None,
) -> torch.Tensor:
    """DDIM (Song et al. 2020), eta = 0 deterministic, eta = 1 DDPM-like; as diffusers' DDIMScheduler."""
    timesteps = ddim_timesteps(config, steps)
    on_device = torch.as_tensor(timesteps, device=latent.device)  # one copy, not one per step
    final_alpha_bar = torch.tensor(1.0) if config.set_alpha_to_one else alphas_cumprod[0]
    model_dtype, latent = latent.dtype, latent.float()  # the sampler's state stays float32
    for i in range(first_step, len(timesteps)):
        t = timesteps[i]
        # diffusers steps back by n // steps whatever the spacing; matching it keeps seeds reproducible.
        t_prev = t - config.num_train_timesteps // steps
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
        _step_done(i - first_step, len(timesteps) - first_step, callback, cancel, denoised, x0)
    return latent.to(model_dtype)


def sample_dpmpp_2m(
    model: Model,
    latent: torch.Tensor,
    config: ScheduleConfig,
    alphas_cumprod: torch.Tensor,
    *,
    steps: int,
    callback: Progress | None = None,
    cancel: threading.Event | None = None,
    first_step: int = 0,
    after_step: AfterStep | None = None,
    denoised: Denoised | None = None,
) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022), data prediction, midpoint form; first order on the last step.

    Matches diffusers' DPMSolverMultistepScheduler defaults (order 2, final sigma 0). Works in the
    VP parameterisation: alpha_t = 1 / sqrt(1 + s²), sigma_t = s * alpha_t, lambda = log(alpha / sigma).
    """
    timesteps = dpm_timesteps(config, steps)
    on_device = torch.as_tensor(timesteps, device=latent.device)  # one copy, not one per step
    noise_levels = ((1 - alphas_cumprod) / alphas_cumprod).sqrt().cpu().numpy()  # s_t = sigma_t / alpha_t
    s = np.interp(timesteps, np.arange(len(noise_levels)), noise_levels)
    s = torch.from_numpy(np.concatenate([s, [0.0]]).astype(np.float32))  # (steps + 1,), ends at clean
    alpha = 1 / (s**2 + 1) ** 0.5
    sigma = s * alpha
    lam = torch.log(alpha) - torch.log(sigma)  # +inf at the final, noise-free level
    # The state (latent, x0) stays float32 whatever the model's dtype: bfloat16 rounding would otherwise
    # accumulate over the steps. Only the UNet's input is cast.
    model_dtype, latent = latent.dtype, latent.float()
    previous_x0 = None
    for i in range(first_step, len(timesteps)):
        output = model(latent.to(model_dtype), on_device[i]).float()
        x0, _ = predict_x0_eps(output, latent, alpha[i], sigma[i], config.prediction_type)
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
        _step_done(i - first_step, len(timesteps) - first_step, callback, cancel, denoised, x0)
    return latent.to(model_dtype)
