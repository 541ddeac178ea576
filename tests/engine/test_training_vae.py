"""Training stage `vae`: it learns, resumes exactly, survives a crash, and exports the published layout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from soundloom.engine import EngineError
from soundloom.engine.checkpoints import load_module, load_tensors
from soundloom.engine.models.vae import AutoencoderKL, VAEConfig
from soundloom.engine.training.corpus import CATEGORY_NAMES, make_item
from soundloom.engine.training.data import ClipFolder
from soundloom.engine.training.vae import VAETraining, train_vae

TINY = VAEConfig(block_out_channels=[8, 16], latent_channels=4, layers_per_block=1, norm_num_groups=4)


def settings(steps: int, **changes) -> VAETraining:
    return VAETraining(
        steps=steps,
        batch_size=2,
        segment_s=0.32,
        checkpoint_every=5,
        sample_every=1000,
        learning_rate=2e-3,
        model=replace(TINY),
        **changes,
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    for index in range(len(CATEGORY_NAMES)):
        item = make_item(0, index, duration_s=1.0)
        sf.write(folder / f"{index:02d}_{item.category}.wav", item.audio, 16000, subtype="FLOAT")
    return folder


def test_loss_goes_down(clips: Path, tmp_path: Path) -> None:
    losses = []
    train_vae(clips, tmp_path / "run", settings(60), progress=lambda step, total, loss: losses.append(loss))
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10])
    assert (tmp_path / "run" / "losses.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_resumed_run_continues_exactly_where_it_stopped(clips: Path, tmp_path: Path) -> None:
    train_vae(clips, tmp_path / "straight", settings(20))
    train_vae(clips, tmp_path / "resumed", settings(10))
    assert torch.load(tmp_path / "resumed" / "state.pt", weights_only=True)["step"] == 10
    steps_seen = []
    train_vae(
        clips, tmp_path / "resumed", settings(20), progress=lambda step, total, loss: steps_seen.append(step)
    )
    assert steps_seen == list(range(11, 21))
    straight = torch.load(tmp_path / "straight" / "state.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "state.pt", weights_only=True)
    assert resumed["losses"] == straight["losses"]
    for key, value in straight["modules"]["vae"].items():
        assert torch.equal(value, resumed["modules"]["vae"][key]), key


def test_the_exported_vae_is_the_published_layout(clips: Path, tmp_path: Path) -> None:
    from diffusers import AutoencoderKL as ReferenceVAE

    folder = train_vae(clips, tmp_path / "run", settings(5))
    config = json.loads((folder / "config.json").read_text())
    assert config["_class_name"] == "AutoencoderKL" and 0.01 < config["scaling_factor"] < 100
    ours = load_module(
        AutoencoderKL(VAEConfig.from_dict(config)),
        load_tensors([folder / "diffusion_pytorch_model.safetensors"]),
        "vae",
    )
    reference = ReferenceVAE.from_pretrained(folder).eval()
    mel = torch.randn(1, 1, 32, 64) - 5
    with torch.no_grad():
        torch.testing.assert_close(
            ours.decode(ours.encode(mel)[0]),
            reference.decode(reference.encode(mel).latent_dist.mean).sample,
            rtol=1e-5,
            atol=1e-5,
        )


def test_mixed_rates_channels_and_formats_are_all_used(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    sf.write(
        tmp_path / "stereo_44k.wav",
        np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1) * 0.5,
        44100,
        subtype="PCM_16",
    )
    sf.write(tmp_path / "mono_8k.flac", np.sin(2 * np.pi * 300 * np.arange(4000) / 8000) * 0.5, 8000)
    sf.write(
        tmp_path / "mono_48k.wav",
        np.random.default_rng(0).standard_normal(24000) * 0.1,
        48000,
        subtype="PCM_24",
    )
    (tmp_path / "notes.txt").write_text("not audio")
    data = ClipFolder(tmp_path)
    assert sorted(len(clip) for clip in data.clips) == [8000, 8000, 16000]  # all at 16 kHz, lengths kept
    batch = data.batch(3, 4000, np.random.default_rng(0))
    assert batch.shape == (3, 4000) and torch.isfinite(batch).all()


def test_empty_or_non_audio_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(EngineError, match="is empty"):
        ClipFolder(tmp_path / "empty")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "song.wav").write_bytes(b"RIFF this is not audio")
    with pytest.raises(EngineError, match=r"no readable audio in .*fake"):
        ClipFolder(tmp_path / "fake")
    with pytest.raises(EngineError, match="does not exist"):
        ClipFolder(tmp_path / "missing")


def test_kill_9_mid_run_leaves_a_resumable_checkpoint(clips: Path, tmp_path: Path) -> None:
    def command(steps: int) -> list[str]:
        return [
            "soundloom",
            "train",
            "vae",
            "--data",
            str(clips),
            "--out",
            str(tmp_path / "run"),
            "--steps",
            str(steps),
            "--batch",
            "2",
            "--segment",
            "0.32",
            "--channels",
            "8",
            "16",
            "--checkpoint-every",
            "3",
        ]

    process = subprocess.Popen(command(400), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "run" / "state.pt"
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # let it get into later steps, and possibly into a checkpoint write
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    step = torch.load(state, weights_only=True)["step"]  # the last complete checkpoint still loads
    assert 3 <= step < 400
    finish = subprocess.run(command(step + 3), capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr
    assert torch.load(state, weights_only=True)["step"] == step + 3
    assert (tmp_path / "run" / "vae" / "diffusion_pytorch_model.safetensors").is_file()
