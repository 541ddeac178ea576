"""Training stages vocoder, clap, ldm and finetune on tiny models: they learn, resume exactly, export a
checkpoint the engine loads, and keep AudioLDM's recipe (audio embedding in training, text at generation).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from soundloom.engine import EngineError, GenerationRequest
from soundloom.engine.audio import MelConfig, normalize_waveform, waveform_to_mel
from soundloom.engine.checkpoints import load_component
from soundloom.engine.loader import load_model
from soundloom.engine.models.vae import VAEConfig
from soundloom.engine.models.vocoder import HifiGan, VocoderConfig
from soundloom.engine.training.clap import train_clap
from soundloom.engine.training.corpus import make_item
from soundloom.engine.training.data import ClipFolder
from soundloom.engine.training.ldm import (
    EncodedClips,
    LDMTrainer,
    LDMTraining,
    finetune_parts,
    ldm_parts,
    snr_weights,
    train_ldm,
)
from soundloom.engine.training.run import learning_rate
from soundloom.engine.training.vae import VAETraining, train_vae
from soundloom.engine.training.vocoder import train_vocoder

from ..helpers.training_stages import (
    TINY_VOCODER,
    clap_settings,
    ldm_settings,
    mean_drop,
    vocoder_settings,
)


@pytest.fixture(scope="module")
def parts(corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """Tiny trained VAE, vocoder and CLAP runs: what `ldm` builds on."""
    root = tmp_path_factory.mktemp("parts")
    vae = VAEConfig(block_out_channels=[8, 16], latent_channels=4, layers_per_block=1, norm_num_groups=4)
    train_vae(
        corpus / "clips",
        root / "vae",
        VAETraining(steps=3, batch_size=2, segment_s=0.32, model=vae, checkpoint_every=5),
    )
    train_vocoder(corpus / "clips", root / "vocoder", vocoder_settings(2))
    train_clap(corpus, root / "clap", clap_settings(3))
    return ldm_parts(root / "vae", root / "vocoder", root / "clap")


def vocoder_mel_l1(vocoder: HifiGan, waves: torch.Tensor) -> float:
    """The stage's mel loss on a fixed batch: L1 between log-mels of the output and of the input."""
    mel = waveform_to_mel(normalize_waveform(waves), MelConfig())[:, :32]
    with torch.no_grad():
        output = vocoder(mel)[:, : 32 * 160]
    return float((waveform_to_mel(output, MelConfig())[:, :32] - mel).abs().mean())


def test_vocoder_mel_loss_goes_down_with_discriminators_on(corpus: Path, tmp_path: Path) -> None:
    fixed = torch.from_numpy(np.stack([make_item(5, i, 0.32).audio for i in range(6)]))
    torch.manual_seed(0)  # the stage seeds torch with settings.seed (0) before building the generator
    untrained = vocoder_mel_l1(HifiGan(TINY_VOCODER), fixed)
    folder = train_vocoder(corpus / "clips", tmp_path / "run", vocoder_settings(40))
    trained = vocoder_mel_l1(load_component(folder, HifiGan, VocoderConfig, "transformers"), fixed)
    assert trained < 0.85 * untrained
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert set(state["optimizers"]) == {"generator", "discriminators"}  # the GAN half ran and is saved
    config = json.loads((folder / "config.json").read_text())
    assert config["upsample_initial_channel"] == 32 and config["architectures"] == ["SpeechT5HifiGan"]


def test_vocoder_fine_tunes_an_existing_one(corpus: Path, tmp_path: Path) -> None:
    first = train_vocoder(corpus / "clips", tmp_path / "first", vocoder_settings(3))
    losses = []
    train_vocoder(
        corpus / "clips",
        tmp_path / "second",
        vocoder_settings(3, init=tmp_path / "first"),
        lambda s, t, loss: losses.append(loss),
    )
    first_state = torch.load(tmp_path / "first" / "state.pt", weights_only=True)["losses"]
    # The fine-tune starts from the first run's weights, so its first loss is near that run's last one.
    assert abs(losses[0] - first_state[-1][1]) < abs(first_state[0][1] - first_state[-1][1]) + 0.5
    assert (first / "model.safetensors").is_file()


@pytest.mark.parametrize(
    "stage, run",
    [
        (
            "vocoder",
            lambda corpus, parts, out, steps, progress: train_vocoder(
                corpus / "clips", out, vocoder_settings(steps), progress
            ),
        ),
        (
            "clap",
            lambda corpus, parts, out, steps, progress: train_clap(
                corpus, out, clap_settings(steps), progress
            ),
        ),
        (
            "ldm",
            lambda corpus, parts, out, steps, progress: train_ldm(
                corpus / "clips", out, ldm_settings(steps), parts, progress
            ),
        ),
    ],
)
def test_a_resumed_run_continues_exactly_where_it_stopped(corpus, parts, tmp_path, stage, run) -> None:
    run(corpus, parts, tmp_path / "straight", 14, None)
    run(corpus, parts, tmp_path / "resumed", 7, None)  # stops at 7 (a checkpoint at 5 and one at 7)
    steps_seen = []
    run(corpus, parts, tmp_path / "resumed", 14, lambda step, total, loss: steps_seen.append(step))
    assert steps_seen == list(range(8, 15))
    straight = torch.load(tmp_path / "straight" / "state.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "state.pt", weights_only=True)
    assert resumed["losses"] == straight["losses"]
    for name, weights in straight["modules"].items():
        for key, value in weights.items():
            assert torch.equal(value, resumed["modules"][name][key]), (name, key)


def test_ldm_loss_goes_down_and_exports_a_loadable_checkpoint(corpus: Path, parts, tmp_path: Path) -> None:
    from diffusers import UNet2DConditionModel

    losses = []
    model_dir = train_ldm(
        corpus / "clips", tmp_path / "run", ldm_settings(60), parts, lambda s, t, loss: losses.append(loss)
    )
    assert mean_drop(losses, 10) < 0.8
    model = load_model(str(model_dir), device="cpu")
    result = model.generate(GenerationRequest(prompt="rain on a window", steps=3, duration_s=0.64, seed=1))[0]
    assert result.audio.shape == (10240,) and np.isfinite(result.audio).all()
    assert model.model.conditioner.audio_encoder is not None
    UNet2DConditionModel.from_pretrained(model_dir / "unet")  # the reference reads our UNet folder too


def test_cosine_schedule_warms_up_then_decays_to_zero() -> None:
    settings = LDMTraining(steps=1100, learning_rate=4e-4, warmup_steps=100, lr_schedule="cosine")
    assert learning_rate(settings, 0) == pytest.approx(4e-6)
    assert learning_rate(settings, 99) == pytest.approx(4e-4)
    assert learning_rate(settings, 600) == pytest.approx(2e-4)  # halfway through the decay
    assert 0 < learning_rate(settings, 1099) < 1e-8  # the last step, just above 0
    assert learning_rate(replace(settings, lr_schedule="constant"), 1099) == 4e-4


def test_vocoder_rate_follows_its_cosine_schedule(corpus: Path, tmp_path: Path) -> None:
    """Both optimisers follow the cosine decay to about 0 at the last step; constant keeps the peak."""
    rates = {}
    for schedule in ("cosine", "constant"):
        settings = replace(vocoder_settings(12, lr_schedule=schedule), adversarial_start=6)
        train_vocoder(corpus / "clips", tmp_path / schedule, settings)
        optimizers = torch.load(tmp_path / schedule / "state.pt", weights_only=True)["optimizers"]
        rates[schedule] = {name: state["param_groups"][0]["lr"] for name, state in optimizers.items()}
    # The last step (11 of 0..11) is 10/11 of the way through the decay (step 0 is a 1-step warmup).
    last = 2e-3 * (1 + math.cos(math.pi * 10 / 11)) / 2
    assert rates["cosine"] == pytest.approx({"generator": last, "discriminators": last})
    assert rates["constant"] == {"generator": 2e-3, "discriminators": 2e-3}
    with pytest.raises(EngineError, match="lr schedule must be constant or cosine"):
        train_vocoder(corpus / "clips", tmp_path / "bad", vocoder_settings(2, lr_schedule="step"))


def test_min_snr_weights_only_the_nearly_clean_timesteps_down() -> None:
    alpha_bar = torch.tensor([0.5, 5 / 6, 0.9, 0.99])  # SNR 1, 5, 9, 99
    torch.testing.assert_close(snr_weights(alpha_bar, 5.0), torch.tensor([1.0, 1.0, 5 / 9, 5 / 99]))
    torch.testing.assert_close(snr_weights(alpha_bar, 0.0), torch.ones(4))


def test_ldm_learns_with_min_snr_weights_and_a_cosine_decay(corpus: Path, parts, tmp_path: Path) -> None:
    losses = []
    settings = ldm_settings(60, lr_schedule="cosine", min_snr_gamma=5.0)
    train_ldm(corpus / "clips", tmp_path / "run", settings, parts, lambda s, t, loss: losses.append(loss))
    assert mean_drop(losses, 10) < 0.9  # the weighted loss, at a rate that decays to 0
    with pytest.raises(EngineError, match="lr schedule must be constant or cosine"):
        train_ldm(corpus / "clips", tmp_path / "bad", replace(settings, lr_schedule="step"), parts)


def test_ldm_trains_on_the_audio_embedding_and_generates_on_the_text_embedding(
    corpus, parts, tmp_path
) -> None:
    """The recipe: condition on CLAP(audio of the same clip) in training, on CLAP(text) at generation."""
    model_dir = train_ldm(corpus / "clips", tmp_path / "run", ldm_settings(2), parts)
    trainer = LDMTrainer(model_dir, ldm_settings(1, cfg_dropout=0.5))
    seen: dict[str, torch.Tensor] = {}
    trainer.audio_encoder.register_forward_hook(
        lambda module, args, output: seen.update(audio=output, mel=args[0])
    )
    trainer.unet.register_forward_pre_hook(
        lambda module, args, kwargs: seen.update(condition=kwargs["class_condition"]), with_kwargs=True
    )
    waves = torch.from_numpy(np.stack([make_item(3, i, 0.64).audio for i in range(8)]))
    rng = np.random.default_rng(4)
    dropped = np.random.default_rng(4).random(8) < 0.5  # the trainer's first draw from the same stream
    trainer.step(waves, rng)
    audio = torch.nn.functional.normalize(seen["audio"], dim=-1)
    empty_text = trainer.text_encoder.encode([""])[0]
    assert 0 < dropped.sum() < 8
    for row in range(8):
        expected = empty_text if dropped[row] else audio[row]
        torch.testing.assert_close(seen["condition"][row], expected)
    assert seen["mel"].shape == (8, 64, 64)  # the clip's own log-mel, 0.64 s

    # Generation: the exported checkpoint conditions on the text embedding of the prompt (and of "").
    model = load_model(str(model_dir), device="cpu")
    conditioner = model.model.conditioner
    captured = []
    model.model.denoiser.unet.register_forward_pre_hook(
        lambda module, args, kwargs: captured.append(kwargs["class_condition"]), with_kwargs=True
    )
    model.generate(
        GenerationRequest(prompt="a dog barking", steps=2, duration_s=0.64, guidance_scale=3.0, seed=0)
    )
    text = conditioner.text_encoder.encode(["", "a dog barking"])
    torch.testing.assert_close(captured[0], text)  # (uncond, cond) in one batched call
    # ... and the text embedding belongs to the same CLAP pair whose audio branch conditioned training.
    for key, value in trainer.audio_encoder.state_dict().items():
        assert torch.equal(value, conditioner.audio_encoder.state_dict()[key])


def test_encoded_clips_cover_long_files_window_by_window(corpus, parts, tmp_path) -> None:
    """The cache behind `ldm`: one entry per segment of each file, equal to encoding that window."""
    model_dir = train_ldm(corpus / "clips", tmp_path / "run", ldm_settings(1), parts)
    trainer = LDMTrainer(model_dir, ldm_settings(1))  # segment 0.64 s = 10240 samples
    folder = tmp_path / "long"
    folder.mkdir()
    long_clip = make_item(5, 0, duration_s=1.6).audio  # 2.5 segments: windows at 0, 10240, 20480 (padded)
    sf.write(folder / "long.wav", long_clip, 16000, subtype="FLOAT")
    sf.write(folder / "short.wav", make_item(5, 1, duration_s=0.3).audio, 16000, subtype="FLOAT")
    data = ClipFolder(folder)
    encoded = EncodedClips(trainer, data)
    assert len(encoded) == 4  # long.wav: 3 windows, short.wav: 1 (zero-padded)
    last = np.zeros(trainer.samples, np.float32)
    last[: len(long_clip) - 20480] = long_clip[20480:]
    mean, logvar, audio = trainer.encode(torch.from_numpy(last)[None])
    torch.testing.assert_close(encoded.mean[2:3], mean)
    torch.testing.assert_close(encoded.logvar[2:3], logvar)
    torch.testing.assert_close(encoded.audio[2:3], audio)
    assert torch.allclose(encoded.audio.norm(dim=1), torch.ones(4))


def test_a_run_stopped_early_exports_what_it_reached(corpus, parts, tmp_path) -> None:
    """Ctrl+C at step 10 of a longer run, then `--steps 10`: no step runs, the EMA UNet is exported."""
    train_ldm(corpus / "clips", tmp_path / "run", ldm_settings(10), parts)
    steps_run = []
    model_dir = train_ldm(
        corpus / "clips",
        tmp_path / "run",
        ldm_settings(8, lr_schedule="cosine"),
        parts,
        lambda step, total, loss: steps_run.append(step),
    )
    assert steps_run == []
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert state["step"] == 10
    exported = load_model(str(model_dir), device="cpu").model.denoiser.unet.state_dict()
    for key, value in state["modules"]["ema"].items():
        torch.testing.assert_close(exported[key].float(), value, msg=key)


def test_finetune_continues_a_checkpoint_on_uncaptioned_audio(corpus, parts, tmp_path) -> None:
    base = train_ldm(corpus / "clips", tmp_path / "base", ldm_settings(20), parts)
    own = tmp_path / "my_sounds"
    own.mkdir()
    for i in range(3):  # a user's library: stereo 44.1 kHz, no captions anywhere
        t = np.arange(44100) / 44100
        tone = np.sin(2 * np.pi * (200 + 150 * i) * t) * np.exp(-3 * t)
        sf.write(own / f"hit{i}.wav", np.stack([tone, tone], axis=1) * 0.5, 44100, subtype="PCM_24")
    losses = []
    tuned = train_ldm(
        own,
        tmp_path / "tuned",
        ldm_settings(40),
        finetune_parts(base),
        lambda s, t, loss: losses.append(loss),
    )
    assert mean_drop(losses, 10) < 0.9
    base_unet = load_model(str(base), device="cpu").model.denoiser.unet.state_dict()
    tuned_unet = load_model(str(tuned), device="cpu").model.denoiser.unet.state_dict()
    assert any(not torch.equal(base_unet[key], tuned_unet[key]) for key in base_unet)


def test_finetune_refuses_a_checkpoint_without_the_audio_branch(tiny_checkpoint: Path) -> None:
    with pytest.raises(EngineError, match="ships only the CLAP text branch"):
        finetune_parts(tiny_checkpoint)
