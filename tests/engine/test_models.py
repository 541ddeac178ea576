"""Each network against its reference implementation, on the tiny checkpoint's random weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from soundloom.engine.checkpoints import load_module, load_tensors
from soundloom.engine.models.unet import UNet, UNetConfig
from soundloom.engine.models.vae import AutoencoderKL, VAEConfig
from soundloom.engine.models.vocoder import HifiGan, VocoderConfig


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours - reference).abs().max() / reference.abs().max()).item()


def load_ours(folder: Path, name: str, module_class, config_class, weights: str):
    config = config_class.from_dict(json.loads((folder / name / "config.json").read_text()))
    return load_module(module_class(config), load_tensors([folder / name / weights]), name)


@pytest.mark.parametrize(
    "latent_frames", [8, 7]
)  # 7: not a multiple of the up factor, exercises output sizes
def test_unet_forward_equals_diffusers(tiny_checkpoint: Path, latent_frames: int) -> None:
    from diffusers import UNet2DConditionModel

    reference = UNet2DConditionModel.from_pretrained(tiny_checkpoint / "unet").eval()
    ours = load_ours(tiny_checkpoint, "unet", UNet, UNetConfig, "diffusion_pytorch_model.safetensors")
    torch.manual_seed(0)
    latent = torch.randn(3, 4, latent_frames, 16)
    condition = torch.nn.functional.normalize(torch.randn(3, 16), dim=-1)
    timestep = torch.tensor(421)
    with torch.no_grad():
        expected = reference(latent, timestep, encoder_hidden_states=None, class_labels=condition).sample
        got = ours(latent, timestep, class_condition=condition)
    assert got.shape == expected.shape == latent.shape
    assert relative_error(got, expected) < 1e-5
    # The conditioning and the timestep must reach the output, or equality would prove little.
    with torch.no_grad():
        other = ours(latent, timestep, class_condition=condition.flip(0))
        later = ours(latent, torch.tensor(900), class_condition=condition)
    assert relative_error(other, got) > 1e-3 and relative_error(later, got) > 1e-3


def test_vae_encode_and_decode_equal_diffusers(tiny_checkpoint: Path) -> None:
    from diffusers import AutoencoderKL as ReferenceVAE

    reference = ReferenceVAE.from_pretrained(tiny_checkpoint / "vae").eval()
    ours = load_ours(tiny_checkpoint, "vae", AutoencoderKL, VAEConfig, "diffusion_pytorch_model.safetensors")
    torch.manual_seed(1)
    mel = torch.randn(2, 1, 24, 64) * 2 - 6  # (B, 1, mel_frames, mel_bins), log-mel-like
    with torch.no_grad():
        posterior = reference.encode(mel).latent_dist
        mean, logvar = ours.encode(mel)
        latent = torch.randn(2, 4, 12, 32)
        expected_mel = reference.decode(latent).sample
        got_mel = ours.decode(latent)
    assert mean.shape == (2, 4, 12, 32)
    assert relative_error(mean, posterior.mean) < 1e-5
    assert relative_error(logvar, posterior.logvar) < 1e-5
    assert got_mel.shape == expected_mel.shape == (2, 1, 24, 64)
    assert relative_error(got_mel, expected_mel) < 1e-5


def test_vocoder_equals_speecht5_hifigan(tiny_checkpoint: Path) -> None:
    from transformers import SpeechT5HifiGan

    reference = SpeechT5HifiGan.from_pretrained(tiny_checkpoint / "vocoder").eval()
    ours = load_ours(tiny_checkpoint, "vocoder", HifiGan, VocoderConfig, "model.safetensors")
    torch.manual_seed(2)
    mel = torch.randn(2, 30, 64) * 2 - 5
    with torch.no_grad():
        expected = reference(mel)
        got = ours(mel)
    assert got.shape == expected.shape and expected.shape[1] >= 30 * 160
    assert expected.abs().max() > 1e-2  # the random vocoder passes signal through
    assert relative_error(got, expected) < 1e-5


@pytest.mark.slow
def test_full_size_audioldm_s_unet_step_equals_diffusers(tmp_path: Path) -> None:
    """cvssp/audioldm-s-full-v2's published UNet config, random weights, one step on a 10.24 s latent."""
    from diffusers import UNet2DConditionModel

    from ..helpers.reference_checkpoint import PUBLISHED_CONFIGS

    raw = json.loads((PUBLISHED_CONFIGS / "audioldm-s-full-v2.unet.json").read_text())
    torch.manual_seed(0)
    reference = UNet2DConditionModel.from_config(raw).eval()
    ours = UNet(UNetConfig.from_dict(raw))
    load_module(ours, reference.state_dict(), "audioldm-s-full-v2 unet")
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    latent = torch.randn(2, 8, 256, 16)  # cond + uncond of one 10.24 s clip
    condition = torch.nn.functional.normalize(torch.randn(2, 512), dim=-1)
    with torch.no_grad():
        expected = reference(
            latent, torch.tensor(801), encoder_hidden_states=None, class_labels=condition
        ).sample
        got = ours(latent, torch.tensor(801), class_condition=condition)
    assert relative_error(got, expected) < 1e-4
