"""Random-weight AudioLDM checkpoints in the published diffusers layout, built with the reference code.

diffusers and transformers (test-only here) build and `save_pretrained` each component, so the folder
our engine loads is exactly what a user downloads, minus trained weights. Used by the tests (tiny) and
the benchmarks (full size, from the published configs in `tests/reference/`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

# Byte-level BPE with no merges: every byte is a token. A real RoBERTa tokenizer, just a tiny vocabulary.
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]


# The published checkpoints' configurations, kept in the repository (tests/reference/README.md says whence).
PUBLISHED_CONFIGS = Path(__file__).resolve().parents[1] / "reference" / "published-configs"


def _byte_alphabet() -> list[str]:
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def save_tokenizer(folder: Path, model_max_length: int = 77) -> int:
    """Write a RoBERTa tokenizer to `folder`; returns its vocabulary size."""
    from transformers import RobertaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *_byte_alphabet(), "<mask>"])}
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[], model_max_length=model_max_length)
    tokenizer.save_pretrained(folder)
    return len(vocab)


TINY_UNET = dict(
    sample_size=16,
    in_channels=4,
    out_channels=4,
    block_out_channels=[16, 32],
    down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
    up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
    layers_per_block=1,
    cross_attention_dim=[16, 32],
    attention_head_dim=4,
    norm_num_groups=8,
    class_embed_type="simple_projection",
    projection_class_embeddings_input_dim=16,
    class_embeddings_concat=True,
)
TINY_VAE = dict(
    in_channels=1,
    out_channels=1,
    block_out_channels=[8, 16],
    latent_channels=4,
    layers_per_block=1,
    norm_num_groups=4,
    down_block_types=["DownEncoderBlock2D"] * 2,
    up_block_types=["UpDecoderBlock2D"] * 2,
    scaling_factor=0.9,
)
TINY_VOCODER = dict(
    model_in_dim=64,
    sampling_rate=16000,
    upsample_initial_channel=32,
    upsample_rates=[5, 4, 2, 2, 2],
    upsample_kernel_sizes=[16, 16, 8, 4, 4],
    resblock_kernel_sizes=[3, 7],
    resblock_dilation_sizes=[[1, 3, 5]] * 2,
    normalize_before=False,
    # transformers' default init (std 0.01) shrinks the signal to ~1e-9 over ten layers; this keeps it ~0.1.
    initializer_range=0.15,
)
TINY_TEXT = dict(
    hidden_size=16,
    intermediate_size=32,
    num_attention_heads=2,
    num_hidden_layers=2,
    projection_dim=16,
    max_position_embeddings=80,
)
# A full CLAP's audio branch (HTSAT), tiny: for checkpoints whose text_encoder/ is a whole ClapModel.
TINY_CLAP_AUDIO = dict(
    window_size=8,
    spec_size=256,  # HTSAT folds 1001 frames (10 s at 48 kHz, hop 480) into a 256 x 256 image
    patch_size=4,
    patch_stride=[4, 4],
    num_mel_bins=64,
    depths=[1, 1],
    num_attention_heads=[2, 2],
    patch_embeds_hidden_size=16,
    hidden_size=32,
    projection_dim=16,
    enable_fusion=False,
)
# laion/clap-htsat-unfused's feature extractor: 48 kHz, 64 mels, hop 480, 10 s windows.
CLAP_FEATURES = dict(
    feature_size=64,
    sampling_rate=48000,
    hop_length=480,
    max_length_s=10,
    fft_window_size=1024,
    truncation="rand_trunc",
    padding="repeatpad",
)
# cvssp/audioldm-s-full-v2's scheduler_config.json
AUDIOLDM_SCHEDULER = dict(
    beta_start=0.0015,
    beta_end=0.0195,
    beta_schedule="scaled_linear",
    clip_sample=False,
    set_alpha_to_one=False,
    steps_offset=1,
    num_train_timesteps=1000,
    prediction_type="epsilon",
)


def build_checkpoint(
    folder: Path,
    unet: dict = TINY_UNET,
    vae: dict = TINY_VAE,
    vocoder: dict = TINY_VOCODER,
    text: dict = TINY_TEXT,
    scheduler: dict = AUDIOLDM_SCHEDULER,
    seed: int = 0,
    tokenizer_max_length: int = 77,
    full_clap: bool = False,
) -> Path:
    """Save a random AudioLDMPipeline to `folder` with diffusers' save_pretrained; returns the folder.

    `full_clap` ships a whole ClapModel (text and audio branches) and its feature extractor instead of
    the text branch alone, as a checkpoint converted with CLAP's audio branch does.
    """
    from diffusers import AudioLDMPipeline, AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        ClapTextModelWithProjection,
        RobertaTokenizer,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = save_tokenizer(folder / "tokenizer", tokenizer_max_length)
    text_config = ClapTextConfig(
        vocab_size=vocab_size, pad_token_id=1, bos_token_id=0, eos_token_id=2, **text
    )
    unet_model = UNet2DConditionModel(**unet)
    # Random init leaves some layers at zero (conv_out, proj_out); perturb everything so every path matters.
    for model in (unet_model,):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.02)
    if full_clap:
        clap_config = ClapConfig(
            text_config=text_config.to_dict(),
            audio_config=TINY_CLAP_AUDIO,
            projection_dim=text_config.projection_dim,
        )
        text_encoder = ClapModel(clap_config)
        ClapFeatureExtractor(**CLAP_FEATURES).save_pretrained(folder / "feature_extractor")
    else:
        text_encoder = ClapTextModelWithProjection(text_config)
    pipe = AudioLDMPipeline(
        vae=AutoencoderKL(**vae),
        text_encoder=text_encoder,
        tokenizer=RobertaTokenizer.from_pretrained(folder / "tokenizer"),
        unet=unet_model,
        scheduler=DDIMScheduler(**scheduler),
        vocoder=SpeechT5HifiGan(SpeechT5HifiGanConfig(**vocoder)),
    )
    pipe.save_pretrained(folder)
    return folder


def load_reference_pipeline(folder: Path):
    from diffusers import AudioLDMPipeline

    return AudioLDMPipeline.from_pretrained(folder).to("cpu")


def published_configs(reference_dir: Path) -> dict:
    """Full-size AudioLDM-S (cvssp/audioldm-s-full-v2) component configs, from the published JSON files."""

    def read(name: str) -> dict:
        raw = json.loads((reference_dir / name).read_text())
        return {key: value for key, value in raw.items() if not key.startswith("_")}

    return dict(
        unet=read("audioldm-s-full-v2.unet.json"),
        vae=read("audioldm-s-full-v2.vae.json"),
        vocoder={**read("audioldm.vocoder.json"), "initializer_range": 0.02},
        text=dict(projection_dim=512),  # ClapTextConfig's defaults are the published RoBERTa-base text branch
        tokenizer_max_length=512,  # the published CLAP tokenizer's limit
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description="Write a random-weight AudioLDM checkpoint (needs the test extras)."
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--full-size", action="store_true", help="AudioLDM-S architecture (about 1.7 GB)")
    parser.add_argument(
        "--reference",
        type=Path,
        default=PUBLISHED_CONFIGS,
    )
    args = parser.parse_args()
    build_checkpoint(args.folder, **(published_configs(args.reference) if args.full_size else {}))
    print(args.folder)
