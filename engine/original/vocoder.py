"""The authors' HiFi-GAN (`first_stage_model.vocoder.*` in AudioLDM, `first_stage_model.vocoder.*` in
AudioLDM 2) as our vocoder. Their checkpoints hold it with weight norm already removed (`get_vocoder`
calls `remove_weight_norm` before training); a weight-normed one (`weight_g`, `weight_v`) is folded."""

from __future__ import annotations

from typing import Any

import torch

from .renaming import renamed


def vocoder_config(hifigan: dict[str, Any]) -> dict[str, Any]:
    """Our vocoder's config from the original HiFi-GAN config (`HIFIGAN_16K_64` and the like)."""
    return {
        "model_in_dim": hifigan["num_mels"],
        "sampling_rate": hifigan["sampling_rate"],
        "upsample_initial_channel": hifigan["upsample_initial_channel"],
        "upsample_rates": list(hifigan["upsample_rates"]),
        "upsample_kernel_sizes": list(hifigan["upsample_kernel_sizes"]),
        "resblock_kernel_sizes": list(hifigan["resblock_kernel_sizes"]),
        "resblock_dilation_sizes": [list(d) for d in hifigan["resblock_dilation_sizes"]],
        "normalize_before": False,
    }


def vocoder_state(
    state: dict[str, torch.Tensor], config: dict[str, Any], source: str
) -> dict[str, torch.Tensor]:
    """The original vocoder's tensors (its prefix taken off) under ours, with the (unused) input
    normalisation SpeechT5's HiFi-GAN keeps: mean 0, scale 1."""
    state = _fold_weight_norm(state)
    pairs = [("conv_pre", "conv_pre"), ("conv_post", "conv_post"), ("resblocks", "resblocks")]
    pairs += [(f"ups.{index}", f"upsampler.{index}") for index in range(len(config["upsample_rates"]))]
    out = renamed(state, pairs, None, source)
    out["mean"] = torch.zeros(config["model_in_dim"])
    out["scale"] = torch.ones(config["model_in_dim"])
    return out


def _fold_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """weight = g * v / |v|, the norm over every dimension but the first (torch's weight_norm, dim 0)."""
    out = {key: value for key, value in state.items() if not key.endswith(("weight_g", "weight_v"))}
    for key in state:
        if key.endswith("weight_v"):
            stem = key[: -len("weight_v")]
            v, g = state[key], state[stem + "weight_g"]
            norm = v.flatten(1).norm(dim=1).reshape(-1, *([1] * (v.ndim - 1)))
            out[stem + "weight"] = g * v / norm
    return out
