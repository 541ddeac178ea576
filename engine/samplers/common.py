"""What every sampler shares: the callables it is handed, classifier-free guidance and seamless loops as
wrappers around the denoiser, turning a raw network output into (x0, eps), and the per-step bookkeeping.

`model(latent, t)` returns the network's raw output for a latent at training timestep t: ε, v or x₀, as
the checkpoint's `prediction_type` says. Latents are (B, C, T, F) in the variance-preserving form
x_t = alpha_t * x0 + sigma_t * eps. Each sampler calls `callback(step, total)` after every step,
`denoised(step, total, x0)` with its current estimate of the clean latent (previews, `preview.py`), and
stops with GenerationCancelled between steps when `cancel` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch

from ..errors import GenerationCancelled

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
    edges fall somewhere else at every step). Pads and shifts are multiples of `multiple`, the denoiser's
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


def step_done(
    step: int,
    total: int,
    callback: Progress | None,
    cancel: threading.Event | None,
    denoised: Denoised | None,
    x0: torch.Tensor,
) -> None:
    """After step `step` of `total` (0-based): report progress, stop if cancelled, hand x0 to previews."""
    if callback is not None:
        callback(step + 1, total)
    if cancel is not None and cancel.is_set() and step + 1 < total:
        raise GenerationCancelled("generation cancelled")
    if denoised is not None:  # after the cancel check: a cancelled job decodes no preview first
        denoised(step + 1, total, x0)
