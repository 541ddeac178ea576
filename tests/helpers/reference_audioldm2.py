"""Random-weight AudioLDM 2 checkpoints in the published diffusers layout, built with the reference code.

The layout is cvssp/audioldm2's: a full ClapModel (text_encoder) with its RoBERTa tokenizer and feature
extractor, a T5EncoderModel (text_encoder_2) with a T5 tokenizer, the projection model, a bare GPT2Model
(language_model), the two-stream UNet, the VAE, the vocoder and a DDIM scheduler. Everything is saved by
diffusers' and transformers' own `save_pretrained`, so the folder is what a user downloads, minus the
trained weights. The T5 tokenizer is a real tokenizers Unigram model over a small alphabet (no download).
"""

from __future__ import annotations

import json
import shutil
import string
from pathlib import Path

import torch

from .reference_checkpoint import (
    CLAP_FEATURES,
    TINY_CLAP_AUDIO,
    TINY_TEXT,
    TINY_VAE,
    TINY_VOCODER,
    save_tokenizer,
)

LOA_DIM = 16  # GPT-2's width: the "language of audio" stream the UNet's first cross-attention reads
T5_DIM = 32  # T5's width: the second stream
TINY_UNET2 = dict(
    sample_size=16,
    in_channels=4,
    out_channels=4,
    block_out_channels=[16, 32],
    down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
    up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
    layers_per_block=1,
    cross_attention_dim=[[None, LOA_DIM, T5_DIM], [None, LOA_DIM, T5_DIM]],
    attention_head_dim=4,
    norm_num_groups=8,
)
TINY_T5 = dict(d_model=T5_DIM, d_kv=8, d_ff=64, num_layers=2, num_heads=4, relative_attention_num_buckets=8)
TINY_GPT2 = dict(
    n_embd=LOA_DIM,
    n_layer=2,
    n_head=2,
    n_positions=256,
    vocab_size=8,
    bos_token_id=0,
    eos_token_id=0,
    max_new_tokens=8,
)
# cvssp/audioldm2's scheduler_config.json
AUDIOLDM2_SCHEDULER = dict(
    beta_start=0.0015,
    beta_end=0.0195,
    beta_schedule="scaled_linear",
    clip_sample=False,
    set_alpha_to_one=False,
    steps_offset=1,
    num_train_timesteps=1000,
    prediction_type="epsilon",
)


def save_t5_tokenizer(folder: Path, model_max_length: int = 128) -> int:
    """A T5 tokenizer (SentencePiece-style Unigram over letters, digits and punctuation); its size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    characters = string.ascii_letters + string.digits + ".,!?'-"
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(c, -2.0) for c in characters] + [("▁" + c, -1.5) for c in characters]
    backend = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    tokenizer = T5TokenizerFast(
        tokenizer_object=backend,
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_ids=0,
        model_max_length=model_max_length,
    )
    tokenizer.save_pretrained(folder)
    return len(tokenizer)


def _perturb(module: torch.nn.Module, scale: float = 0.02) -> None:
    """Random init leaves some layers at zero (conv_out, proj_out, SOS/EOS at one); make every path count."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(torch.randn_like(parameter) * scale)


def build_audioldm2_checkpoint(
    folder: Path,
    unet: dict = TINY_UNET2,
    t5: dict = TINY_T5,
    gpt2: dict = TINY_GPT2,
    vae: dict = TINY_VAE,
    vocoder: dict = TINY_VOCODER,
    text: dict = TINY_TEXT,
    clap_audio: dict = TINY_CLAP_AUDIO,
    tokenizer_max_length: int = 77,
    seed: int = 0,
) -> Path:
    """Save a random AudioLDM2Pipeline to `folder` with diffusers' save_pretrained; returns the folder."""
    from diffusers import (
        AudioLDM2Pipeline,
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        GPT2Config,
        GPT2Model,
        RobertaTokenizer,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
        T5TokenizerFast,
    )

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = save_tokenizer(folder / "tokenizer", model_max_length=tokenizer_max_length)
    t5_vocab = save_t5_tokenizer(folder / "tokenizer_2")
    text_config = ClapTextConfig(
        vocab_size=vocab_size, pad_token_id=1, bos_token_id=0, eos_token_id=2, **TINY_TEXT
    )
    clap = ClapModel(
        ClapConfig(
            text_config=text_config.to_dict(),
            audio_config=clap_audio,
            projection_dim=text_config.projection_dim,
        )
    )
    ClapFeatureExtractor(**CLAP_FEATURES).save_pretrained(folder / "feature_extractor")
    t5_encoder = T5EncoderModel(
        T5Config(**{"vocab_size": t5_vocab, "pad_token_id": 0, "eos_token_id": 1, **t5})
    )
    language_model = GPT2Model(GPT2Config(**gpt2))
    projection = AudioLDM2ProjectionModel(
        text_encoder_dim=text_config.projection_dim,
        text_encoder_1_dim=t5_encoder.config.d_model,
        langauge_model_dim=language_model.config.n_embd,
    )
    unet_model = AudioLDM2UNet2DConditionModel(**unet)
    for module in (unet_model, projection, language_model, t5_encoder):
        _perturb(module)
    vae_model = AutoencoderKL(**{**vae, "latent_channels": unet["in_channels"]})
    pipe = AudioLDM2Pipeline(
        vae=vae_model,
        text_encoder=clap,
        text_encoder_2=t5_encoder,
        projection_model=projection,
        language_model=language_model,
        tokenizer=RobertaTokenizer.from_pretrained(folder / "tokenizer"),
        tokenizer_2=T5TokenizerFast.from_pretrained(folder / "tokenizer_2"),
        feature_extractor=ClapFeatureExtractor.from_pretrained(folder / "feature_extractor"),
        unet=unet_model,
        scheduler=DDIMScheduler(**AUDIOLDM2_SCHEDULER),
        vocoder=SpeechT5HifiGan(SpeechT5HifiGanConfig(**vocoder)),
    )
    pipe.save_pretrained(folder)
    return folder


def published_audioldm2_configs(reference_dir: Path) -> dict:
    """cvssp/audioldm2's architecture: the published UNet/VAE/vocoder configs from tests/reference/, and
    the text stack's published sizes (CLAP RoBERTa-base + HTSAT, FLAN-T5-large's encoder, GPT-2 base)."""

    def read(name: str) -> dict:
        raw = json.loads((reference_dir / name).read_text())
        return {key: value for key, value in raw.items() if not key.startswith("_")}

    return dict(
        unet=read("audioldm2.unet.json"),
        vae={**read("audioldm-s-full-v2.vae.json"), "scaling_factor": 0.4110932946205139},
        vocoder={**read("audioldm.vocoder.json"), "initializer_range": 0.02},
        text=dict(projection_dim=512),  # ClapTextConfig's defaults are the published RoBERTa-base branch
        clap_audio=dict(projection_dim=512),  # ClapAudioConfig's defaults are HTSAT-unfused
        t5=dict(
            vocab_size=32128,
            d_model=1024,
            d_kv=64,
            d_ff=2816,
            num_layers=24,
            num_heads=16,
            feed_forward_proj="gated-gelu",
        ),
        gpt2=dict(max_new_tokens=8),  # GPT2Config's defaults are GPT-2 base (124M)
        tokenizer_max_length=512,
    )


def load_audioldm2_reference(folder: Path, dtype: torch.dtype = torch.float32):
    """diffusers' AudioLDM2Pipeline on the folder, able to run with transformers 5.

    A bare GPT2Model no longer has the generation helpers diffusers calls in its LOA loop, so the same
    weights go into a GPT2LMHeadModel's transformer (its head is never used: the loop reads hidden states).
    """
    from diffusers import AudioLDM2Pipeline
    from transformers import GPT2LMHeadModel, GPT2Model

    pipe = AudioLDM2Pipeline.from_pretrained(folder, torch_dtype=dtype)
    bare: GPT2Model = pipe.language_model
    with_head = GPT2LMHeadModel(bare.config)
    with_head.transformer.load_state_dict(bare.state_dict())
    pipe.language_model = with_head.to(dtype).eval()
    pipe.set_progress_bar_config(disable=True)
    return pipe.to("cpu")


VITS_DIM = 24  # the speech checkpoints' second stream: VITS text-encoder states
TINY_VITS = dict(
    hidden_size=VITS_DIM,
    num_hidden_layers=2,
    num_attention_heads=2,
    ffn_dim=48,
    flow_size=24,
    spectrogram_bins=33,
    upsample_initial_channel=16,
    upsample_rates=[4, 4],
    upsample_kernel_sizes=[8, 8],
    resblock_kernel_sizes=[3],
    resblock_dilation_sizes=[[1, 3]],
    posterior_encoder_num_wavenet_layers=2,
    prior_encoder_num_flows=2,
    prior_encoder_num_wavenet_layers=1,
    duration_predictor_num_flows=1,
    duration_predictor_filter_channels=16,
    depth_separable_num_layers=1,
)
VITS_TOKENS = 48  # the tokenizer's model_max_length = the projection's max_seq_length (512 when published)


def save_vits_tokenizer(folder: Path) -> int:
    """A character VitsTokenizer (no phonemizer, no blanks) with id 182 in range: the pipeline's end token."""
    from transformers import VitsTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, **{c: i + 1 for i, c in enumerate(" abcdefghijklmnopqrstuvwxyz',.!?-")}}
    vocab.update({f"<unused{i}>": len(vocab) + i for i in range(200 - len(vocab))})
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = VitsTokenizer(
        str(folder / "vocab.json"), add_blank=False, phonemize=False, model_max_length=VITS_TOKENS
    )
    tokenizer.save_pretrained(folder)
    return len(vocab)


def build_audioldm2_speech_checkpoint(folder: Path, seed: int = 0) -> Path:
    """The speech layout (anhnct/audioldm2_gigaspeech's, the port diffusers' docs load): VITS as
    text_encoder_2, learned positions on its states in the projection, and more LOA states from GPT-2;
    built on the sound layout above."""
    from diffusers import AudioLDM2Pipeline, AudioLDM2ProjectionModel
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    unet = {**TINY_UNET2, "cross_attention_dim": [[None, LOA_DIM, VITS_DIM]] * 2}
    build_audioldm2_checkpoint(folder, unet=unet, gpt2={**TINY_GPT2, "max_new_tokens": 16}, seed=seed)
    pipe = AudioLDM2Pipeline.from_pretrained(folder)
    for replaced in ("text_encoder_2", "tokenizer_2"):  # T5's files must not linger beside VITS's
        shutil.rmtree(folder / replaced)
    torch.manual_seed(seed + 1)
    vocab_size = save_vits_tokenizer(folder / "tokenizer_2")
    vits = VitsModel(VitsConfig(vocab_size=vocab_size, **TINY_VITS))
    projection = AudioLDM2ProjectionModel(
        text_encoder_dim=TINY_TEXT["projection_dim"],
        text_encoder_1_dim=VITS_DIM,
        langauge_model_dim=LOA_DIM,
        use_learned_position_embedding=True,
        max_seq_length=VITS_TOKENS,
    )
    for module in (vits, projection):
        _perturb(module)
    pipe.text_encoder_2, pipe.projection_model = vits, projection
    pipe.tokenizer_2 = VitsTokenizer.from_pretrained(folder / "tokenizer_2")
    pipe.save_pretrained(folder)
    return folder
