"""The samplers, by name: the one table every surface reads (the limits' choices, the CLI's help).

Each sampler is one plain function in its own module (k-diffusion's shape):
`sample(model, latent, schedule, timesteps, *, eta, generator, callback, cancel, first_step, after_step,
denoised) -> latent`, where `model(latent, t)` is the guided denoiser and `timesteps` the descending
training timesteps it visits. This file imports no torch (the app reads the names); `sampler()` imports
the sampler's module when a model first runs it. Adding a sampler: its module with one function, one
entry below, and its parity test (docs/architecture.md, "How to add a sampler").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SamplerEntry:
    name: str  # what --sampler, the OSC `sampler` option and presets take
    module: str  # the module in this package that holds the function
    function: str
    timesteps: str  # the timestep rule it visits: "ddim", "dpm" or "euler" (parts/schedule.py)
    takes_eta: bool  # whether `eta` (ancestral noise) means anything to it
    summary: str  # one line for people


SAMPLERS: dict[str, SamplerEntry] = {
    entry.name: entry
    for entry in (
        SamplerEntry(
            "dpm++",
            "dpmpp_2m",
            "sample_dpmpp_2m",
            "dpm",
            False,
            "DPM-Solver++(2M): good takes in 20-25 steps",
        ),
        SamplerEntry(
            "ddim", "ddim", "sample_ddim", "ddim", True, "DDIM: the AudioLDM paper's sampler (200 steps)"
        ),
        SamplerEntry(
            "euler",
            "euler",
            "sample_euler",
            "euler",
            False,
            "Euler on the flow ODE: smooth, steady in few steps",
        ),
    )
}
SAMPLER_NAMES = tuple(SAMPLERS)  # the default first


def sampler(name: str) -> tuple[Callable[..., Any], str]:
    """(the sampling function, its timestep rule) for a registered name."""
    entry = SAMPLERS[name]
    module = importlib.import_module(f".{entry.module}", __package__)
    return getattr(module, entry.function), entry.timesteps
