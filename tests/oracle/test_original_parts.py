"""Our UNet, VAE and vocoder, loaded from the authors' state dicts through engine/original/, equal the
authors' own modules (their packages' classes, built from their published configs made small: every
structural setting kept, widths cut) on the same random weights and inputs."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from soundloom.engine.errors import EngineError
from soundloom.engine.models.unet import UNet, UNetConfig
from soundloom.engine.models.vae import AutoencoderKL, VAEConfig
from soundloom.engine.models.vocoder import HifiGan, VocoderConfig
from soundloom.engine.original.unet import unet_config, unet_state
from soundloom.engine.original.vae import vae_config, vae_state
from soundloom.engine.original.vocoder import vocoder_config, vocoder_state

from .authors import authors_module


def randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter random, at the scale that keeps activations alive through the layers (weights
    1/sqrt(fan-in), norm scales near 1, small biases): the originals zero some layers at init, and weights
    that are too small make attention uniform, either of which would hide a wrong map."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if parameter.ndim >= 2:
                parameter.copy_(noise / math.sqrt(parameter[0].numel()))
            elif name.endswith("weight"):
                parameter.copy_(1 + 0.1 * noise)
            else:
                parameter.copy_(0.1 * noise)
    return module.eval()


def close(found: torch.Tensor, expected: torch.Tensor) -> bool:
    """Equal within float32 rounding of different summation orders, relative to the signal's size."""
    return float((found - expected).abs().max()) <= 2e-5 * max(1.0, float(expected.abs().max()))


def small_audioldm_params() -> dict:
    """audioldm-s-full's configuration (the package's `default_audioldm_config`), widths cut by four."""
    config = copy.deepcopy(authors_module("audioldm.utils").default_audioldm_config("audioldm-s-full"))
    params = config["model"]["params"]
    params["unet_config"]["params"].update(model_channels=32, extra_film_condition_dim=24)
    params["first_stage_config"]["params"]["ddconfig"].update(ch=32)
    return params


def test_the_unet_equals_the_authors_unetmodel() -> None:
    params = small_audioldm_params()["unet_config"]["params"]
    theirs = randomised(authors_module("audioldm.latent_diffusion.openaimodel").UNetModel(**params), 0)
    config = unet_config(params)
    assert config["num_attention_heads"] == [1, 2, 3, 5]  # channels // num_head_channels, as trained
    ours = UNet(UNetConfig.from_dict(config)).eval()
    ours.load_state_dict(unet_state(theirs.state_dict(), config, "test"), strict=True)
    generator = torch.Generator().manual_seed(1)
    latent = torch.randn(2, 8, 32, 16, generator=generator)
    film = torch.randn(2, 24, generator=generator)
    timesteps = torch.tensor([999, 37])
    with torch.no_grad():
        expected = theirs(latent, timesteps, y=film)
        assert close(ours(latent, timesteps, class_condition=film), expected)
        # The published diffusers configs' 8 heads everywhere would not be the trained network.
        eight = UNet(UNetConfig.from_dict({**config, "num_attention_heads": 8})).eval()
        eight.load_state_dict(unet_state(theirs.state_dict(), config, "test"), strict=True)
        assert not close(eight(latent, timesteps, class_condition=film), expected)


def test_the_vae_equals_the_authors_autoencoder() -> None:
    params = small_audioldm_params()["first_stage_config"]["params"]
    params = {key: value for key, value in params.items() if key not in ("base_learning_rate",)}
    theirs = authors_module("audioldm.variational_autoencoder.autoencoder").AutoencoderKL(**params)
    randomised(theirs, 2)
    state = {k: v for k, v in theirs.state_dict().items() if not k.startswith("vocoder.")}
    config = vae_config(params, scale_factor=0.7)
    ours = AutoencoderKL(VAEConfig.from_dict(config)).eval()
    ours.load_state_dict(vae_state(state, config, "test"), strict=True)
    generator = torch.Generator().manual_seed(3)
    mel = torch.randn(1, 1, 64, 64, generator=generator)
    latent = torch.randn(1, 8, 16, 16, generator=generator)
    with torch.no_grad():
        posterior = theirs.encode(mel)
        mean, logvar = ours.encode(mel)
        assert close(mean, posterior.mean) and close(logvar, posterior.logvar)
        assert close(ours.decode(latent), theirs.decode(latent))


def test_the_vocoder_equals_the_authors_hifigan_weight_normed_or_not() -> None:
    hifigan = authors_module("audioldm.hifigan")
    settings = {**authors_module("audioldm.hifigan.utilities").HIFIGAN_16K_64, "upsample_initial_channel": 32}
    theirs = randomised(hifigan.Generator(hifigan.AttrDict(settings)), 4)
    config = vocoder_config(settings)
    normed = vocoder_state(theirs.state_dict(), config, "test")  # weight_g / weight_v, folded here
    theirs.remove_weight_norm()  # as get_vocoder does before the checkpoint is saved
    plain = vocoder_state(theirs.state_dict(), config, "test")
    mel = torch.randn(1, 64, 20, generator=torch.Generator().manual_seed(5))  # theirs: (B, mel_bins, frames)
    with torch.no_grad():
        expected = theirs(mel).squeeze(1)
        for state in (normed, plain):
            ours = HifiGan(VocoderConfig.from_dict(config)).eval()
            ours.load_state_dict(state, strict=True)
            assert close(ours(mel.transpose(1, 2)), expected)


def test_a_tensor_no_part_holds_is_named() -> None:
    params = small_audioldm_params()["unet_config"]["params"]
    state = {"input_blocks.0.0.weight": torch.zeros(1), "label_emb.weight": torch.zeros(1)}
    with pytest.raises(EngineError, match=r"model.ckpt: unexpected tensor 'label_emb.weight'"):
        unet_state(state, unet_config(params), "model.ckpt")
