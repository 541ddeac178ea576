"""`soundloom transfer | inpaint | extend | vary`, run as a user runs them on real files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ..helpers.cli import files_in, soundloom

FAST = ("--steps", "3", "--seed", "7")


@pytest.fixture
def stereo_clip(tmp_path: Path) -> Path:
    """1.2 s of 24-bit stereo at 44.1 kHz, as a DAW renders a selection."""
    t = np.arange(round(1.2 * 44100)) / 44100
    audio = np.stack([0.5 * np.sin(2 * np.pi * 330 * t), 0.3 * np.sin(2 * np.pi * 550 * t)], axis=1)
    path = tmp_path / "selection.wav"
    sf.write(path, audio, 44100, subtype="PCM_24")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_inpaint_writes_the_clip_back_with_the_region_replaced(
    tiny_checkpoint: Path, stereo_clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixed.wav"
    run = soundloom(
        "inpaint", stereo_clip, "glass break", "--start", "0.4", "--end", "0.8",
        "--model", tiny_checkpoint, "--out", out, *FAST,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(out)
    original, _ = sf.read(stereo_clip, dtype="float32")
    fixed, rate = sf.read(out, dtype="float32")
    assert rate == 44100 and fixed.shape == original.shape
    fade = round(0.02 * 44100)
    assert np.array_equal(fixed[: round(0.4 * 44100) - fade], original[: round(0.4 * 44100) - fade])
    assert np.array_equal(fixed[round(0.8 * 44100) + fade :], original[round(0.8 * 44100) + fade :])
    assert "44100 Hz, 2 ch" in run.stderr and "seed 7" in run.stderr


@pytest.mark.parametrize(
    ("command", "options", "seconds"),
    [
        ("transfer", ("metal door", "--strength", "0.7", "--loop"), 1.2),
        ("extend", ("rain", "--seconds", "0.5"), 1.7),
    ],
)
def test_transfer_and_extend_keep_rate_and_channels(
    tiny_checkpoint: Path, stereo_clip: Path, tmp_path: Path, command, options, seconds
) -> None:
    run = soundloom(command, stereo_clip, *options, "--model", tiny_checkpoint, "--out", tmp_path, *FAST)
    assert run.returncode == 0, run.stderr
    [written] = [Path(line) for line in run.stdout.split()]
    assert written.name.startswith(f"selection_{command}_") and written.name.endswith("_7_1.wav")
    info = sf.info(written)
    assert (info.samplerate, info.channels, info.frames) == (44100, 2, round(seconds * 44100))


def test_vary_with_the_built_in_model(stereo_clip: Path, tmp_path: Path) -> None:
    run = soundloom("vary", stereo_clip, "--variations", "2", "--out", tmp_path / "v.wav", *FAST)
    assert run.returncode == 0, run.stderr
    assert files_in(tmp_path) == {"selection.wav", "v_1.wav", "v_2.wav"}
    one, two = sf.read(tmp_path / "v_1.wav")[0], sf.read(tmp_path / "v_2.wav")[0]
    assert one.shape == two.shape == (round(1.2 * 44100), 2) and not np.allclose(one, two)


def test_rerank_prints_each_score(tmp_path: Path) -> None:
    run = soundloom(
        "generate", "a dog barking", "--duration", "1", "--variations", "3", "--rerank",
        "--out", tmp_path, *FAST,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    scores = [float(line.split("CLAP score ")[1].split()[0]) for line in lines]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)


def test_variations_on_a_text_only_checkpoint_say_why(
    tiny_checkpoint: Path, stereo_clip: Path, tmp_path: Path
) -> None:
    run = soundloom("vary", stereo_clip, "--model", tiny_checkpoint, "--out", tmp_path / "v.wav", *FAST)
    assert run.returncode == 2
    assert "ships only CLAP's text branch" in run.stderr and "Traceback" not in run.stderr
    assert files_in(tmp_path) == {"selection.wav"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("inpaint", "{clip}", "x", "--start", "1.0", "--end", "2.0"),
            "must be non-empty and inside the clip",
        ),
        (
            ("inpaint", "{clip}", "x", "--start", "0.5", "--end", "0.5"),
            "must be non-empty and inside the clip",
        ),
        (("transfer", "{clip}", "x", "--strength", "1.5"), "strength must be between 0 and 1"),
        (("transfer", "{clip}", "x", "--strength", "-0.2"), "strength must be between 0 and 1"),
        (("transfer", "{fake}", "x"), "not a readable audio file"),
        (("transfer", "{empty}", "x"), "the file holds no audio"),
        (("transfer", "{long}", "x"), "longer than the 60 s limit"),
        (("transfer", "{missing}", "x"), "no such file"),
        (("extend", "{clip}", "x", "--seconds", "0"), "extend must be between 0.04 and 30 s, got 0"),
        (("inpaint", "{clip}", "x", "--start", "0.1", "--end", "0.2", "--steps", "0"), "steps must be"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written_input_untouched(
    tiny_checkpoint: Path, stereo_clip: Path, tmp_path: Path, arguments, message
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "fake.wav").write_text("this is a text file renamed .wav")
    sf.write(inputs / "empty.wav", np.zeros((0, 2)), 44100)
    sf.write(inputs / "long.wav", np.zeros((8000 * 61, 1)), 8000, subtype="PCM_16")
    paths = {"clip": stereo_clip, **{name: inputs / f"{name}.wav" for name in ("fake", "empty", "long")}}
    paths["missing"] = inputs / "missing.wav"
    before = {path: digest(path) for path in paths.values() if path.exists()}
    out = tmp_path / "out"
    out.mkdir()

    run = soundloom(
        *(argument.format(**paths) for argument in arguments), "--model", tiny_checkpoint, "--out", out
    )
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and message in run.stderr, run.stderr
    assert files_in(out) == set()
    assert {path: digest(path) for path in before} == before


def test_the_input_is_never_the_output(tiny_checkpoint: Path, stereo_clip: Path) -> None:
    before = digest(stereo_clip)
    run = soundloom(
        "transfer", stereo_clip, "x", "--model", tiny_checkpoint, "--out", stereo_clip, "--overwrite", *FAST
    )
    assert run.returncode == 2 and "user audio is never overwritten" in run.stderr
    assert digest(stereo_clip) == before
    run = soundloom(
        "transfer", stereo_clip, "x", "--model", tiny_checkpoint, "--out", stereo_clip.parent, *FAST
    )
    assert run.returncode == 0, run.stderr  # into the clip's own folder: a new name, the clip untouched
    assert digest(stereo_clip) == before
