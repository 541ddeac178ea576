"""The noise schedule part: the one a checkpoint was trained with, and the timesteps each sampler visits.

Read from the checkpoint's `scheduler/scheduler_config.json` (diffusers' DDIMScheduler fields). The
schedule is data: `alphas_cumprod[t]` is ᾱ_t, the signal fraction at training timestep t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import EngineError
from ..models.config import config_from_dict


@dataclass
class ScheduleConfig:
    num_train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    beta_schedule: str = "linear"
    prediction_type: str = "epsilon"
    timestep_spacing: str | None = None  # None: each sampler's own default, as diffusers does
    steps_offset: int = 0
    set_alpha_to_one: bool = True
    clip_sample: bool = False
    clip_sample_range: float = 1.0
    trained_betas: list[float] | None = None

    @classmethod
    def from_dict(cls, raw: dict, source: str = "scheduler/scheduler_config.json") -> ScheduleConfig:
        return config_from_dict(
            cls,
            raw,
            source,
            must_equal={
                "beta_schedule": ("linear", "scaled_linear", "squaredcos_cap_v2"),
                "prediction_type": ("epsilon", "v_prediction", "sample"),
                "timestep_spacing": (None, "leading", "trailing", "linspace"),
                "thresholding": (False,),
                "rescale_betas_zero_snr": (False,),
            },
        )


def _cosine_betas(steps: int, max_beta: float = 0.999) -> np.ndarray:
    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    return np.array(
        [min(1 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), max_beta) for i in range(steps)]
    )


def alphas_cumprod(config: ScheduleConfig) -> torch.Tensor:
    """(num_train_timesteps,) float32 ᾱ_t, computed as diffusers does (float32 betas, cumulative product)."""
    n = config.num_train_timesteps
    if config.trained_betas is not None:
        betas = torch.tensor(config.trained_betas, dtype=torch.float32)
    elif config.beta_schedule == "linear":
        betas = torch.linspace(config.beta_start, config.beta_end, n, dtype=torch.float32)
    elif config.beta_schedule == "scaled_linear":
        betas = torch.linspace(config.beta_start**0.5, config.beta_end**0.5, n, dtype=torch.float32) ** 2
    else:
        betas = torch.tensor(_cosine_betas(n), dtype=torch.float32)
    return torch.cumprod(1.0 - betas, dim=0)


def ddim_timesteps(config: ScheduleConfig, steps: int) -> np.ndarray:
    """The descending training timesteps DDIM visits (diffusers' DDIMScheduler.set_timesteps)."""
    n = config.num_train_timesteps
    spacing = config.timestep_spacing or "leading"
    if steps > n:
        raise EngineError(f"steps must be at most {n} for this checkpoint, got {steps}")
    if spacing == "linspace":
        return np.linspace(0, n - 1, steps).round()[::-1].astype(np.int64)
    if spacing == "leading":
        return (np.arange(0, steps) * (n // steps)).round()[::-1].astype(np.int64) + config.steps_offset
    return np.round(np.arange(n, 0, -n / steps)).astype(np.int64) - 1


def dpm_timesteps(config: ScheduleConfig, steps: int) -> np.ndarray:
    """The descending timesteps DPM-Solver visits (diffusers' DPMSolverMultistepScheduler.set_timesteps)."""
    n = config.num_train_timesteps
    spacing = config.timestep_spacing or "linspace"
    if steps > n:
        raise EngineError(f"steps must be at most {n} for this checkpoint, got {steps}")
    if spacing == "linspace":
        return np.linspace(0, n - 1, steps + 1).round()[::-1][:-1].astype(np.int64)
    if spacing == "leading":
        ratio = n // (steps + 1)
        return (np.arange(0, steps + 1) * ratio).round()[::-1][:-1].astype(np.int64) + config.steps_offset
    return np.arange(n, 0, -n / steps).round().astype(np.int64) - 1


def euler_timesteps(config: ScheduleConfig, steps: int) -> np.ndarray:
    """The descending (float) timesteps Euler visits (diffusers' EulerDiscreteScheduler.set_timesteps)."""
    n = config.num_train_timesteps
    spacing = config.timestep_spacing or "linspace"
    if steps > n:
        raise EngineError(f"steps must be at most {n} for this checkpoint, got {steps}")
    if spacing == "linspace":
        return np.linspace(0, n - 1, steps, dtype=np.float32)[::-1].copy()
    if spacing == "leading":
        timesteps = (np.arange(0, steps) * (n // steps)).round()[::-1].astype(np.float32)
        return timesteps + config.steps_offset
    return np.arange(n, 0, -n / steps).round().astype(np.float32) - 1


TIMESTEP_RULES = {"ddim": ddim_timesteps, "dpm": dpm_timesteps, "euler": euler_timesteps}


@dataclass
class NoiseSchedule:
    """The schedule as the samplers use it: the config and its ᾱ_t table (on the CPU, float32)."""

    config: ScheduleConfig
    alphas_cumprod: torch.Tensor  # (num_train_timesteps,)

    @classmethod
    def from_config(cls, config: ScheduleConfig) -> NoiseSchedule:
        return cls(config, alphas_cumprod(config))

    def timesteps(self, rule: str, steps: int) -> np.ndarray:
        """The descending timesteps a sampler with timestep rule `rule` visits in `steps` steps."""
        return TIMESTEP_RULES[rule](self.config, steps)

    def vp_levels(self, timesteps: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, sigma), (steps + 1,) float32 each: the levels at `timesteps`, then the clean level.

        Between integer timesteps s = sigma / alpha is interpolated linearly, as diffusers' multistep and
        Euler schedulers do; the last entry is s = 0 (alpha 1, sigma 0).
        """
        noise_levels = ((1 - self.alphas_cumprod) / self.alphas_cumprod).sqrt().cpu().numpy()
        s = np.interp(timesteps, np.arange(len(noise_levels)), noise_levels)
        s = torch.from_numpy(np.concatenate([s, [0.0]]).astype(np.float32))
        alpha = 1 / (s**2 + 1) ** 0.5
        return alpha, s * alpha

    def add_noise(self, clean: torch.Tensor, noise: torch.Tensor, t: float) -> torch.Tensor:
        """The forward process q(x_t | x_0): sqrt(ᾱ_t) * clean + sqrt(1 - ᾱ_t) * noise.

        A fractional t (Euler's timesteps) takes its level from the interpolated s, as the sampler does.
        """
        if float(t).is_integer():
            alpha_bar = self.alphas_cumprod[int(t)]
        else:
            alpha, _ = self.vp_levels(np.array([t]))
            alpha_bar = alpha[0] ** 2
        return (alpha_bar**0.5 * clean.float() + (1 - alpha_bar) ** 0.5 * noise.float()).to(clean.dtype)
