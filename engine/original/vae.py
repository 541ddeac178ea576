"""The LDM `AutoencoderKL` (`first_stage_model.*`, its vocoder aside) as our VAE."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import EngineError
from .renaming import renamed

# A ResnetBlock's inner names, and the mid-block attention's (1x1 convolutions there, linear layers here).
RESNET = {"nin_shortcut": "conv_shortcut"}
ATTENTION = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}


def vae_config(params: dict[str, Any], scale_factor: float) -> dict[str, Any]:
    """Our VAE's config from the original's `first_stage_config.params`, with the latent scale the
    diffusion model learnt (`scale_factor` in its state dict, `scale_by_std`)."""
    dd = params["ddconfig"]
    for name, value in (("subband", 1), ("time_shuffle", 1), ("double_z", True), ("attn_resolutions", [])):
        found = params.get(name, dd.get(name, value))
        if found != value:
            raise EngineError(f"first_stage_config: {name}={found!r} is not supported (only {value!r})")
    if params["embed_dim"] != dd["z_channels"]:
        raise EngineError("first_stage_config: embed_dim must equal ddconfig.z_channels")
    return {
        "block_out_channels": [dd["ch"] * mult for mult in dd["ch_mult"]],
        "down_block_types": ["DownEncoderBlock2D"] * len(dd["ch_mult"]),
        "up_block_types": ["UpDecoderBlock2D"] * len(dd["ch_mult"]),
        "in_channels": dd["in_channels"],
        "out_channels": dd["out_ch"],
        "latent_channels": dd["z_channels"],
        "layers_per_block": dd["num_res_blocks"],
        "scaling_factor": float(scale_factor),
        "sample_size": dd["resolution"],
    }


def vae_state(state: dict[str, torch.Tensor], config: dict[str, Any], source: str) -> dict[str, torch.Tensor]:
    """The original VAE's tensors (prefix `first_stage_model.` taken off, vocoder left out) under ours."""
    levels = len(config["block_out_channels"])
    pairs = [("quant_conv", "quant_conv"), ("post_quant_conv", "post_quant_conv")]
    for side in ("encoder", "decoder"):
        pairs += [
            (f"{side}.conv_in", f"{side}.conv_in"),
            (f"{side}.conv_out", f"{side}.conv_out"),
            (f"{side}.norm_out", f"{side}.conv_norm_out"),
            (f"{side}.mid.block_1", f"{side}.mid_block.resnets.0"),
            (f"{side}.mid.block_2", f"{side}.mid_block.resnets.1"),
        ]
    for level in range(levels):
        # The decoder's `up` list runs from the shallowest level, its up_blocks from the deepest.
        up = levels - 1 - level
        pairs += [
            (f"encoder.down.{level}.block", f"encoder.down_blocks.{level}.resnets"),
            (f"encoder.down.{level}.downsample.conv", f"encoder.down_blocks.{level}.downsamplers.0.conv"),
            (f"decoder.up.{level}.block", f"decoder.up_blocks.{up}.resnets"),
            (f"decoder.up.{level}.upsample.conv", f"decoder.up_blocks.{up}.upsamplers.0.conv"),
        ]
    attentions = [(f"{side}.mid.attn_1", f"{side}.mid_block.attentions.0") for side in ("encoder", "decoder")]
    is_attention = {key: ".mid.attn_1." in key for key in state}
    out = renamed({k: v for k, v in state.items() if not is_attention[k]}, pairs, RESNET, source)
    attention = {k: v for k, v in state.items() if is_attention[k]}
    for key, tensor in renamed(attention, attentions, ATTENTION, source).items():
        out[key] = tensor[:, :, 0, 0] if tensor.ndim == 4 else tensor  # a 1x1 conv's weight as a linear's
    return out
