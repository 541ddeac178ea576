"""Shared fixtures: one tiny random AudioLDM checkpoint per session, in the published layout."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Before anything loads PortAudio or Qt: sound goes to ALSA's null device, windows render offscreen.
os.environ.setdefault("ALSA_CONFIG_PATH", str(Path(__file__).with_name("asound-null.conf")))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The suite compares our engine with CPU references bit for bit; on a machine with a GPU, `--device auto`
# would run it on CUDA (TF32, other kernels) and fail for that reason alone. GPU runs are measured by
# benchmarks/gpu_check.sh instead. Child processes (the CLI, the bridge) inherit this.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest

from .helpers.reference_checkpoint import build_checkpoint, load_reference_pipeline


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("checkpoints") / "tiny-audioldm")


@pytest.fixture
def checkpoint_copy(tiny_checkpoint: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny checkpoint that a test may break."""
    return Path(shutil.copytree(tiny_checkpoint, tmp_path / "checkpoint"))


@pytest.fixture(scope="session")
def reference_pipeline(tiny_checkpoint: Path):
    pipe = load_reference_pipeline(tiny_checkpoint)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def engine_model(tiny_checkpoint: Path):
    from soundloom.engine.loader import load_model

    return load_model(str(tiny_checkpoint), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def default_model():
    """The built-in model: trained weights, and the CLAP audio branch the published v1 layout lacks."""
    from soundloom.engine.default_model import default_model_folder
    from soundloom.engine.loader import load_model

    return load_model(str(default_model_folder()), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_full_clap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny checkpoint whose text_encoder/ is a whole ClapModel (text and audio branches)."""
    return build_checkpoint(tmp_path_factory.mktemp("checkpoints") / "full-clap", full_clap=True)


@pytest.fixture(scope="session")
def full_clap_model(tiny_full_clap: Path):
    from soundloom.engine.loader import load_model

    return load_model(str(tiny_full_clap), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_audioldm2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .helpers.reference_audioldm2 import build_audioldm2_checkpoint

    return build_audioldm2_checkpoint(tmp_path_factory.mktemp("checkpoints") / "tiny-audioldm2")


@pytest.fixture(scope="session")
def audioldm2_model(tiny_audioldm2: Path):
    from soundloom.engine.loader import load_model

    return load_model(str(tiny_audioldm2), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def audioldm2_reference(tiny_audioldm2: Path):
    from .helpers.reference_audioldm2 import load_audioldm2_reference

    return load_audioldm2_reference(tiny_audioldm2)


@pytest.fixture(scope="session")
def tiny_audioldm2_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .helpers.reference_audioldm2 import build_audioldm2_speech_checkpoint

    return build_audioldm2_speech_checkpoint(tmp_path_factory.mktemp("checkpoints") / "tiny-audioldm2-speech")


@pytest.fixture(scope="session")
def speech_model(tiny_audioldm2_speech: Path):
    from soundloom.engine.loader import load_model

    return load_model(str(tiny_audioldm2_speech), device="cpu", dtype="float32")
