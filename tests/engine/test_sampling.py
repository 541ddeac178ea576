"""Samplers and schedules against diffusers' DDIMScheduler, DPMSolverMultistepScheduler and
EulerDiscreteScheduler; the registry every surface reads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from soundloom.engine.errors import GenerationCancelled
from soundloom.engine.limits import SAMPLER
from soundloom.engine.parts.schedule import (
    NoiseSchedule,
    ScheduleConfig,
    alphas_cumprod,
    ddim_timesteps,
    dpm_timesteps,
    euler_timesteps,
)
from soundloom.engine.requests import GenerationRequest
from soundloom.engine.samplers import SAMPLERS, sampler
from soundloom.engine.samplers.common import guided
from soundloom.engine.samplers.ddim import sample_ddim
from soundloom.engine.samplers.dpmpp_2m import sample_dpmpp_2m
from soundloom.engine.samplers.euler import sample_euler

from ..helpers.reference_checkpoint import AUDIOLDM_SCHEDULER

BASE = AUDIOLDM_SCHEDULER
EULER_BASE = {k: v for k, v in BASE.items() if k not in ("clip_sample", "set_alpha_to_one")}


def toy_model(latent: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A smooth, timestep-dependent stand-in for a UNet, so trajectories are non-trivial."""
    return torch.tanh(latent * 0.7 + 0.3) * (0.5 + t.float() / 2000) + 0.1 * latent.roll(1, dims=-1)


def reference_run(scheduler, latent: torch.Tensor, steps: int, **step_kwargs) -> torch.Tensor:
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        latent = scheduler.step(toy_model(latent, t), t, latent, **step_kwargs).prev_sample
    return latent


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("steps", [1, 7, 50, 200])
def test_timesteps_equal_diffusers(spacing: str, steps: int) -> None:
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

    config = ScheduleConfig.from_dict({**BASE, "timestep_spacing": spacing})
    ddim = DDIMScheduler(**BASE, timestep_spacing=spacing)
    ddim.set_timesteps(steps)
    dpm = DPMSolverMultistepScheduler(
        **{k: v for k, v in BASE.items() if k not in ("clip_sample", "set_alpha_to_one")},
        timestep_spacing=spacing,
    )
    dpm.set_timesteps(steps)
    euler = EulerDiscreteScheduler(**EULER_BASE, timestep_spacing=spacing)
    euler.set_timesteps(steps)
    np.testing.assert_array_equal(ddim_timesteps(config, steps), ddim.timesteps.numpy())
    np.testing.assert_array_equal(dpm_timesteps(config, steps), dpm.timesteps.numpy())
    np.testing.assert_array_equal(euler_timesteps(config, steps), euler.timesteps.numpy())


@pytest.mark.parametrize("schedule", ["linear", "scaled_linear", "squaredcos_cap_v2"])
def test_alphas_cumprod_equal_diffusers(schedule: str) -> None:
    from diffusers import DDIMScheduler

    config = ScheduleConfig.from_dict({**BASE, "beta_schedule": schedule})
    expected = DDIMScheduler(**{**BASE, "beta_schedule": schedule}).alphas_cumprod
    torch.testing.assert_close(alphas_cumprod(config), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_equals_diffusers(prediction_type: str, eta: float) -> None:
    from diffusers import DDIMScheduler

    raw = {**BASE, "prediction_type": prediction_type}
    config = ScheduleConfig.from_dict(raw)
    start = torch.randn(2, 4, 8, 16, generator=torch.Generator().manual_seed(0))
    expected = reference_run(
        DDIMScheduler(**raw), start.clone(), 12, eta=eta, generator=torch.Generator("cpu").manual_seed(7)
    )
    got = sample_ddim(
        toy_model,
        start.clone(),
        NoiseSchedule.from_config(config),
        ddim_timesteps(config, 12),
        eta=eta,
        generator=torch.Generator("cpu").manual_seed(7),
    )
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert (got - start).abs().max() > 0.1


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize(
    "steps", [1, 2, 10, 20, 25]
)  # < 15 and >= 15 take different final-step branches upstream
def test_dpmpp_2m_equals_diffusers(prediction_type: str, steps: int) -> None:
    from diffusers import DPMSolverMultistepScheduler

    raw = {k: v for k, v in BASE.items() if k not in ("clip_sample", "set_alpha_to_one")}
    raw["prediction_type"] = prediction_type
    config = ScheduleConfig.from_dict(raw)
    start = torch.randn(2, 4, 8, 16, generator=torch.Generator().manual_seed(0))
    expected = reference_run(DPMSolverMultistepScheduler(**raw), start.clone(), steps)
    got = sample_dpmpp_2m(
        toy_model, start.clone(), NoiseSchedule.from_config(config), dpm_timesteps(config, steps)
    )
    # We use expm1(-h) where diffusers writes exp(-h) - 1: more accurate for small h, and ~2e-5 apart
    # after 20 steps. A wrong solver order or step would be off by 1e-2 or more.
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert (got - start).abs().max() > 0.1


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("spacing", ["linspace", "leading"])
@pytest.mark.parametrize("steps", [1, 5, 25])
def test_euler_equals_diffusers(prediction_type: str, spacing: str, steps: int) -> None:
    from diffusers import EulerDiscreteScheduler

    raw = {**EULER_BASE, "prediction_type": prediction_type, "timestep_spacing": spacing}
    config = ScheduleConfig.from_dict(raw)
    noise = torch.randn(2, 4, 8, 16, generator=torch.Generator().manual_seed(0))
    reference = EulerDiscreteScheduler(**raw)
    reference.set_timesteps(steps)
    latent = noise * reference.init_noise_sigma  # diffusers' pipelines start there, in its VE units
    for t in reference.timesteps:
        model_input = reference.scale_model_input(latent, t)
        latent = reference.step(toy_model(model_input, t), t, latent).prev_sample
    got = sample_euler(
        toy_model, noise.clone(), NoiseSchedule.from_config(config), euler_timesteps(config, steps)
    )
    torch.testing.assert_close(got, latent, rtol=1e-4, atol=1e-4)
    if steps > 1:  # one "leading" step is timestep 1, which leaves the latent nearly as it is
        assert (got - noise).abs().max() > 0.1


def test_the_registry_is_what_every_surface_offers() -> None:
    assert SAMPLER.choices == tuple(SAMPLERS) and SAMPLER.default == "dpm++"
    for name, entry in SAMPLERS.items():
        function, rule = sampler(name)
        assert callable(function) and function.__name__ == entry.function and rule == entry.timesteps
    ancestral = [name for name, entry in SAMPLERS.items() if entry.takes_eta]
    assert ancestral == ["ddim"]
    assert GenerationRequest("x", sampler="euler", eta=0.5).problems() == [
        "eta applies to the ddim sampler only, not euler"
    ]
    assert GenerationRequest("x", sampler="euler").problems() == []


def test_guidance_batches_cond_and_uncond_in_one_call() -> None:
    calls = []

    def model(latent: torch.Tensor, t: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        calls.append(latent.shape[0])
        return latent * condition[:, :1, None, None]

    latent = torch.ones(2, 1, 2, 2)
    cond, uncond = torch.full((2, 3), 2.0), torch.full((2, 3), 0.5)
    out = guided(model, cond, uncond, guidance_scale=3.0)(latent, torch.tensor(10))
    assert calls == [4]  # one UNet call on [uncond; cond]
    torch.testing.assert_close(out, torch.full_like(latent, 0.5 + 3.0 * (2.0 - 0.5)))
    assert torch.equal(guided(model, cond, None, 1.0)(latent, torch.tensor(10)), latent * 2.0)


def test_progress_and_cancellation_between_steps() -> None:
    schedule = NoiseSchedule.from_config(ScheduleConfig.from_dict(BASE))
    seen, cancel = [], threading.Event()

    def progress(step: int, total: int) -> None:
        seen.append((step, total))
        if step == 3:
            cancel.set()

    start = torch.randn(1, 4, 8, 16)
    with pytest.raises(GenerationCancelled):
        sample_dpmpp_2m(
            toy_model, start, schedule, schedule.timesteps("dpm", 10), callback=progress, cancel=cancel
        )
    assert seen == [(1, 10), (2, 10), (3, 10)]
    seen.clear()
    sample_ddim(toy_model, start, schedule, schedule.timesteps("ddim", 4), callback=progress)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
