"""Time to first sound: the take heard while it is still being denoised.

After each sampler step the sampler knows its current estimate of the clean latent (x₀). Every so often
that estimate is decoded into a rough waveform and handed to a sink (the CLI writes it, the bridge sends
it to the DAW, the app draws it). A preview is cheaper than the take's own decoding in three ways: only
the first take of the batch is decoded, the vocoder (a fifth of a CPU generation) is replaced by
Griffin-Lim phase estimation on the VAE's mel, and the VAE runs in bfloat16 where the hardware computes
it natively. What a preview costs is watched: previews stop once they would take more than
`BUDGET` of the time the sampling itself takes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from .audio import MelConfig, griffin_lim
from .device import Hardware
from .models.vae import AutoencoderKL

PREVIEW_PEAK = 10 ** (-1 / 20)  # -1 dBFS: the loudest sample a preview holds
BUDGET = 0.10  # previews may cost at most this share of the sampling time
FIRST_AT = 1 / 4  # the first preview after this share of the steps: x0 is noise-coloured mush before
MAX_PREVIEWS = 8  # spread over the steps, however cheap decoding is: a DAW need not hear every step
GRIFFIN_LIM_ITERATIONS = 16  # enough for a rough idea, a few percent of a VAE decode

# What receives a preview: (waveform (samples,) float32 at the model's rate, fraction of steps done).
PreviewSink = Callable[[np.ndarray, float], None]


def preview_waveform(
    vae: AutoencoderKL, latent: torch.Tensor, mel_config: MelConfig, samples: int, bfloat16: bool
) -> np.ndarray:
    """The first take of a scaled latent (B, C, T, F) as a rough waveform (samples,), float32."""
    first = latent[:1] / vae.config.scaling_factor
    weights = next(vae.parameters())
    with torch.autocast(weights.device.type, torch.bfloat16, enabled=bfloat16):
        mel = vae.decode(first.to(weights.dtype))  # (1, 1, mel_frames, mel_bins)
    waveform = griffin_lim(mel[:, 0].float().cpu(), mel_config, GRIFFIN_LIM_ITERATIONS)[0]
    out = np.zeros(samples, np.float32)
    out[: min(samples, len(waveform))] = waveform[:samples].numpy()
    # Griffin-Lim's phase guess can overshoot: a preview never plays above PREVIEW_PEAK (a DAW or player
    # at full gain must not clip on a rough draft).
    peak = float(np.abs(out).max(initial=0.0))
    return out * (PREVIEW_PEAK / peak) if peak > PREVIEW_PEAK else out


def cheap_bfloat16(device: torch.device, hardware: Hardware | None = None) -> bool:
    """Whether previews decode in bfloat16: where the device computes it natively."""
    hardware = hardware or Hardware.here()
    return hardware.cuda_bf16 if device.type == "cuda" else device.type == "cpu" and hardware.cpu_bf16


class Previewer:
    """Called after every sampler step with (steps done, total, x0); decodes when a preview is due.

    Due means: at least FIRST_AT of the steps done, not the last step (the take itself comes next), at
    most MAX_PREVIEWS spread evenly, and what previews have cost so far plus the last one's cost within
    BUDGET of the sampling time projected from the steps so far. Before the first, `known_cost` (what a
    preview of this shape cost this model before) stands in for the last one's; without it the first
    preview is made blind, and its cost is known from then on.
    """

    def __init__(
        self,
        decode: Callable[[torch.Tensor], np.ndarray],
        sink: PreviewSink,
        clock: Callable[[], float] = time.perf_counter,
        known_cost: float | None = None,
    ):
        self.decode, self.sink, self.clock, self.known_cost = decode, sink, clock, known_cost
        self.started = clock()
        self.spent = 0.0  # seconds spent on previews so far
        self.last_cost: float | None = None
        self.last_step = 0
        self.count = 0

    def __call__(self, step: int, total: int, x0: torch.Tensor) -> None:
        if not self.due(step, total):
            return
        began = self.clock()
        waveform = self.decode(x0)
        self.last_cost = self.clock() - began
        self.spent += self.last_cost
        self.last_step, self.count = step, self.count + 1
        self.sink(waveform, step / total)

    def due(self, step: int, total: int) -> bool:
        if step >= total or step < max(1, round(total * FIRST_AT)) or self.count >= MAX_PREVIEWS:
            return False
        if self.count and step - self.last_step < max(1, total // MAX_PREVIEWS):
            return False
        cost = self.last_cost if self.last_cost is not None else self.known_cost
        if cost is None:
            return True
        sampling = self.clock() - self.started - self.spent
        projected = sampling / step * total
        return self.spent + cost <= BUDGET * projected
