"""openaimodel's `UNetModel` (the authors' LDM UNet, `model.diffusion_model.*`) as our UNet.

The config comes from the original's `unet_config.params`; every setting our UNet does not have is
refused rather than ignored. The head count is the original's per level (channels // num_head_channels),
not the 8 heads of the published diffusers configs: the authors' checkpoints were trained with theirs.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import EngineError
from .renaming import renamed

# A ResBlock's inner names -> ResnetBlock2D's.
RESNET = {
    "in_layers.0": "norm1",
    "in_layers.2": "conv1",
    "emb_layers.1": "time_emb_proj",
    "out_layers.0": "norm2",
    "out_layers.3": "conv2",
    "skip_connection": "conv_shortcut",
}
# Settings of the original UNetModel that change its shape or sums; ours supports only these values.
FIXED = {
    "dims": 2,
    "use_scale_shift_norm": False,
    "resblock_updown": False,
    "conv_resample": True,
    "num_classes": None,
    "use_new_attention_order": False,
    "use_spatial_transformer": True,
    "legacy": True,
    "n_embed": None,
}


def unet_config(params: dict[str, Any]) -> dict[str, Any]:
    """Our UNet's config (a diffusers-style dict, for UNetConfig.from_dict) from the original's params."""
    for name, value in FIXED.items():
        if params.get(name, value) != value:
            raise EngineError(f"unet_config: {name}={params[name]!r} is not supported (only {value!r})")
    channels = [params["model_channels"] * mult for mult in params["channel_mult"]]
    attends = [2**level in params["attention_resolutions"] for level in range(len(channels))]
    head_channels = params.get("num_head_channels", -1)
    heads = [c // head_channels for c in channels] if head_channels != -1 else params["num_heads"]
    context = params.get("context_dim")
    film = params.get("extra_film_condition_dim")
    return {
        "block_out_channels": channels,
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attends],
        "up_block_types": ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attends)],
        "in_channels": params["in_channels"],
        "out_channels": params["out_channels"],
        "layers_per_block": params["num_res_blocks"],
        # Without a context the second attention attends to the features themselves (the original's
        # "self-attention if context is none"), so its key and value take the block's own width.
        "cross_attention_dim": context if context is not None else channels,
        "num_attention_heads": heads,
        "transformer_layers_per_block": params.get("transformer_depth", 1),
        "class_embed_type": "simple_projection" if film else None,
        "projection_class_embeddings_input_dim": film,
        "class_embeddings_concat": bool(params.get("extra_film_use_concat", False)),
    }


def unet_state(
    state: dict[str, torch.Tensor], config: dict[str, Any], source: str
) -> dict[str, torch.Tensor]:
    """The original UNet's tensors (prefix `model.diffusion_model.` already taken off) under our names."""
    levels = len(config["block_out_channels"])
    layers = config["layers_per_block"]
    attends = [kind.startswith("CrossAttn") for kind in config["down_block_types"]]
    pairs = [
        ("time_embed.0", "time_embedding.linear_1"),
        ("time_embed.2", "time_embedding.linear_2"),
        ("film_emb", "class_embedding"),
        ("input_blocks.0.0", "conv_in"),
        ("middle_block.0", "mid_block.resnets.0"),
        ("middle_block.1", "mid_block.attentions.0"),
        ("middle_block.2", "mid_block.resnets.1"),
        ("out.0", "conv_norm_out"),
        ("out.2", "conv_out"),
    ]
    index = 1  # input_blocks: [conv_in], then per level `layers` x (resnet[, transformer]), then a downsample
    for level in range(levels):
        for layer in range(layers):
            pairs.append((f"input_blocks.{index}.0", f"down_blocks.{level}.resnets.{layer}"))
            if attends[level]:
                pairs.append((f"input_blocks.{index}.1", f"down_blocks.{level}.attentions.{layer}"))
            index += 1
        if level < levels - 1:
            pairs.append((f"input_blocks.{index}.0.op", f"down_blocks.{level}.downsamplers.0.conv"))
            index += 1
    index = 0  # output_blocks: per level, deepest first, `layers + 1` x (resnet[, transformer]), the last
    for up in range(levels):  # of them ending in the upsample
        level = levels - 1 - up
        for layer in range(layers + 1):
            pairs.append((f"output_blocks.{index}.0", f"up_blocks.{up}.resnets.{layer}"))
            upsample_at = 1
            if attends[level]:
                pairs.append((f"output_blocks.{index}.1", f"up_blocks.{up}.attentions.{layer}"))
                upsample_at = 2
            if layer == layers and up < levels - 1:
                upsample = f"output_blocks.{index}.{upsample_at}.conv"
                pairs.append((upsample, f"up_blocks.{up}.upsamplers.0.conv"))
            index += 1
    return renamed(state, pairs, RESNET, source)
