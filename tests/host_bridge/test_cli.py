"""The `soundloom` console script, run as a user runs it: real processes, real WAV files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from safetensors.torch import load_file, save_file
from soundloom.host_bridge.delivery.wav_metadata import read_provenance

from ..helpers.cli import files_in, generate, soundloom
from ..helpers.hub_cache import put_in_hub_cache


def test_generate_writes_exactly_the_named_file(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "door.wav"
    run = generate("metal door slam", tiny_checkpoint, out, duration=1.5, steps=4, seed=42, sampler="ddim")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(out)
    assert files_in(tmp_path) == {"door.wav"}
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 24000, "FLOAT")
    assert "generating [" in run.stderr and "4/4" in run.stderr  # the progress bar
    assert "seed 42" in run.stderr


def test_generate_matches_the_engine_api_sample_for_sample(
    tiny_checkpoint: Path, tmp_path: Path, engine_model
) -> None:
    from soundloom.engine import GenerationRequest

    run = generate(
        "rain",
        tiny_checkpoint,
        tmp_path / "rain.wav",
        duration=0.5,
        steps=3,
        seed=9,
        guidance=3,
        negative="wind",
    )
    assert run.returncode == 0, run.stderr
    written, _ = sf.read(tmp_path / "rain.wav", dtype="float32")
    expected = engine_model.generate(
        GenerationRequest("rain", negative_prompt="wind", duration_s=0.5, steps=3, seed=9, guidance_scale=3.0)
    )[0].audio
    assert np.array_equal(written, expected)  # un-normalised raw model output, bit for bit


def test_variations_into_a_folder_and_next_to_a_file(tiny_checkpoint: Path, tmp_path: Path) -> None:
    run = generate("Glass break!", tiny_checkpoint, tmp_path, seed=7, variations=3)
    assert run.returncode == 0, run.stderr
    names = [Path(line).name for line in run.stdout.split()]
    assert names == ["glass_break_7_1.wav", "glass_break_7_2.wav", "glass_break_7_3.wav"]
    takes = [sf.read(tmp_path / name)[0] for name in names]
    assert not np.array_equal(takes[0], takes[1])

    again = generate("Glass break!", tiny_checkpoint, tmp_path, seed=7, variations=1)
    assert Path(again.stdout.strip()).name == "glass_break_7_1-2.wav"  # a free name, never an overwrite

    pair = generate("wind", tiny_checkpoint, tmp_path / "take.wav", variations=2)
    assert [Path(line).name for line in pair.stdout.split()] == ["take_1.wav", "take_2.wav"]


def test_existing_audio_is_never_overwritten(tiny_checkpoint: Path, tmp_path: Path) -> None:
    precious = tmp_path / "mine.wav"
    sf.write(precious, np.full(100, 0.25, dtype=np.float32), 48000, subtype="FLOAT")
    before = precious.read_bytes()
    run = generate("wind", tiny_checkpoint, precious)
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        == f"soundloom: error: {precious} already exists; choose another --out or pass --overwrite"
    )
    assert precious.read_bytes() == before
    replaced = generate("wind", tiny_checkpoint, precious, "--overwrite")
    assert replaced.returncode == 0 and sf.info(precious).samplerate == 16000


def broken_checkpoint(tiny_checkpoint: Path, tmp_path: Path, how: str) -> Path:
    folder = Path(shutil.copytree(tiny_checkpoint, tmp_path / f"broken-{how}"))
    weights = folder / "unet/diffusion_pytorch_model.safetensors"
    tensors = load_file(weights)
    if how == "missing-tensor":
        tensors.pop("conv_out.bias")
    else:
        tensors["conv_out.bias"] = tensors["conv_out.bias"][:2]
    save_file(tensors, weights)
    return folder


# Each case: options over the defaults (a value may be built from (tmp_path, checkpoint)), and the message.
BAD_INPUTS = {
    "missing path": ({"model": lambda tmp, ckpt: tmp / "no-such-folder"}, "no checkpoint folder at"),
    "not a checkpoint": (
        {"model": lambda tmp, ckpt: tmp / "empty"},
        "is not a checkpoint folder: it has no model_index.json",
    ),
    "missing tensor": (
        {"model": lambda tmp, ckpt: broken_checkpoint(ckpt, tmp, "missing-tensor")},
        "tensor 'conv_out.bias' is missing",
    ),
    "shape mismatch": (
        {"model": lambda tmp, ckpt: broken_checkpoint(ckpt, tmp, "shape")},
        "tensor 'conv_out.bias' has shape (2,), its config implies (4,)",
    ),
    "duration zero": ({"duration": "0"}, "duration must be between 0.04 and 60 s, got 0"),
    "duration negative": ({"duration": "-2"}, "duration must be between 0.04 and 60 s, got -2"),
    "duration too long": ({"duration": "600"}, "duration must be between 0.04 and 60 s, got 600"),
    "steps zero": ({"steps": "0"}, "steps must be between 1 and 1000, got 0"),
    "guidance negative": ({"guidance": "-1"}, "guidance must be between 0 and 30, got -1"),
    "unknown sampler": ({"sampler": "heun"}, "sampler must be one of dpm++, ddim, euler, got 'heun'"),
    "out folder missing": ({"out": lambda tmp, ckpt: tmp / "no/such/dir/a.wav"}, "does not exist"),
    "out not wav": ({"out": lambda tmp, ckpt: tmp / "a.mp3"}, "give a .wav file or an existing folder"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    tiny_checkpoint: Path, tmp_path: Path, case: str
) -> None:
    overrides, message = BAD_INPUTS[case]
    (tmp_path / "empty").mkdir()
    options = {
        flag: value(tmp_path, tiny_checkpoint) if callable(value) else value
        for flag, value in overrides.items()
    }
    model, out = options.pop("model", tiny_checkpoint), options.pop("out", tmp_path / "out.wav")
    before = files_in(tmp_path)
    run = generate("wind", model, out, **options)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soundloom: error: "), run.stderr
    assert message in lines[0]
    assert files_in(tmp_path) == before


def test_models_inspect(tiny_checkpoint: Path) -> None:
    run = soundloom("models", "inspect", tiny_checkpoint)
    assert run.returncode == 0, run.stderr
    assert "family       audioldm (AudioLDMPipeline)" in run.stdout
    assert "sample rate  16000 Hz" in run.stdout
    for component in ("unet", "vae", "vocoder", "text_encoder", "tokenizer", "scheduler"):
        assert f"  {component} " in run.stdout
    assert "UNet2DConditionModel" in run.stdout and "MB" in run.stdout


def test_models_inspect_an_audioldm2_checkpoint(tiny_audioldm2: Path) -> None:
    run = soundloom("models", "inspect", tiny_audioldm2)
    assert run.returncode == 0, run.stderr
    assert "family       audioldm2 (AudioLDM2Pipeline)" in run.stdout
    rows = {line.split()[0]: line.split() for line in run.stdout.splitlines() if line.startswith("  ")}
    for component in ("language_model", "projection_model", "text_encoder", "text_encoder_2", "unet"):
        assert rows[component][2].endswith("M") and rows[component][3].endswith("MB"), rows[component]
    assert rows["unet"][1] == "AudioLDM2UNet2DConditionModel" and rows["language_model"][1] == "GPT2Model"


def test_generate_on_audioldm2_and_its_bad_input(tiny_audioldm2: Path, tmp_path: Path) -> None:
    out = tmp_path / "v2.wav"
    run = generate("a dog barks in the rain", tiny_audioldm2, out, duration=1.0, steps=3, seed=5)
    assert run.returncode == 0, run.stderr
    assert sf.info(out).frames == 16000
    broken = Path(shutil.copytree(tiny_audioldm2, tmp_path / "no-gpt2"))
    shutil.rmtree(broken / "language_model")
    failed = generate("rain", broken, tmp_path / "none.wav")
    assert failed.returncode == 2 and "language_model/ is missing" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    assert not (tmp_path / "none.wav").exists()


def test_transcripts_and_mixed_folders_fail_in_one_line(
    tiny_audioldm2_speech: Path, tiny_audioldm2: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    mixed = Path(shutil.copytree(tiny_audioldm2, tmp_path / "mixed"))
    shutil.rmtree(mixed / "unet")
    shutil.copytree(tiny_checkpoint / "unet", mixed / "unet")
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        (tiny_audioldm2_speech, (), "is a speech checkpoint: give the words to speak as a transcript"),
        (tiny_audioldm2, ("--transcript", "hello"), "a transcript is for the AudioLDM 2 speech checkpoints"),
        (tiny_checkpoint, ("--transcript", "hello"), "a transcript is for the AudioLDM 2 speech checkpoints"),
        (mixed, (), "UNet2DConditionModel does not belong in an AudioLDM 2 checkpoint"),
    ]
    for model, flags, message in cases:
        run = generate("a man speaks", model, out, *flags)
        assert run.returncode == 2 and message in run.stderr, (model, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert files_in(out) == set()
    spoken = generate(
        "a man speaks", tiny_audioldm2_speech, out / "speech.wav", "--transcript", "hello there"
    )
    assert spoken.returncode == 0, spoken.stderr
    assert sf.info(out / "speech.wav").frames == 4800


def test_hub_id_from_the_cache_end_to_end(tiny_checkpoint: Path, tmp_path: Path) -> None:
    put_in_hub_cache(tiny_checkpoint, tmp_path / "hub", "cvssp/audioldm-s-full-v2")
    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    run = generate("wind", "cvssp/audioldm-s-full-v2", tmp_path / "hub.wav", env=env)
    assert run.returncode == 0, run.stderr
    assert sf.info(tmp_path / "hub.wav").frames == 4800
    missing = soundloom("models", "inspect", "cvssp/audioldm-m-full", env=env)
    assert missing.returncode == 2
    assert (
        "could not download 'cvssp/audioldm-m-full'" in missing.stderr
        and "--model /path/to/folder" in missing.stderr
    )


def test_model_index_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text("{not json")
    run = soundloom("models", "inspect", tmp_path)
    assert run.returncode == 2 and "model_index.json is not valid JSON" in run.stderr
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    run = soundloom("models", "inspect", tmp_path)
    assert run.returncode == 2 and "is not an AudioLDM checkpoint" in run.stderr


def test_corpus_build_writes_clips_and_both_caption_sets(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    train = soundloom("corpus", "build", out, "--count", "3", "--seed", "4", "--duration", "1")
    assert train.returncode == 0, train.stderr
    heldout = soundloom(
        "corpus", "build", out, "--count", "3", "--seed", "4", "--duration", "1", "--split", "heldout"
    )
    assert heldout.returncode == 0, heldout.stderr
    rows = {
        split: [json.loads(line) for line in (out / f"captions-{split}.jsonl").read_text().splitlines()]
        for split in ("train", "heldout")
    }
    assert [row["index"] for row in rows["train"]] == [0, 1, 2]
    assert [row["file"] for row in rows["train"]] == [row["file"] for row in rows["heldout"]]  # same audio
    assert all(a["caption"] != b["caption"] for a, b in zip(rows["train"], rows["heldout"], strict=True))
    for row in rows["train"]:
        info = sf.info(out / row["file"])
        assert (info.samplerate, info.frames, info.subtype) == (16000, 16000, "FLOAT")

    manifest = (out / "captions-train.jsonl").read_bytes()
    again = soundloom("corpus", "build", out, "--count", "2", "--start", "2")
    assert again.returncode == 2 and "already holds clip 2; extend it with --start 3" in again.stderr
    assert (out / "captions-train.jsonl").read_bytes() == manifest
    extended = soundloom(
        "corpus", "build", out, "--count", "1", "--start", "3", "--seed", "4", "--duration", "1"
    )
    assert extended.returncode == 0
    assert len((out / "captions-train.jsonl").read_text().splitlines()) == 4


def test_the_built_in_default_model_generates_without_model_or_network(tmp_path: Path) -> None:
    out = tmp_path / "whoosh.wav"
    result = soundloom(
        "generate",
        "a fast whoosh",
        "--out",
        out,
        "--duration",
        "5",
        "--seed",
        "3",
        "--steps",
        "10",
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    audio, rate = sf.read(out)
    assert rate == 16000 and audio.shape == (80000,)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01  # a sound, not silence
    licence = read_provenance(out.read_bytes())["licence"]  # its own card, packaged beside its weights
    assert (licence["id"], licence["noncommercial"]) == ("mit", False) and "notice" not in result.stderr


def test_models_list_shows_the_default_model_and_cached_ones(tiny_checkpoint: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "hub" / "models--someone--tiny-audioldm" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_checkpoint, snapshot)
    (tmp_path / "hub" / "models--someone--tiny-audioldm" / "refs").mkdir()
    (tmp_path / "hub" / "models--someone--tiny-audioldm" / "refs" / "main").write_text("0" * 40)
    result = soundloom("models", "list", env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["MODEL", "FAMILY", "LICENCE", "WHERE"]  # the columns say what they are
    assert lines[0].split()[:2] == ["default", "audioldm"] and "default_model" in lines[0]
    assert any(line.split()[:2] == ["someone/tiny-audioldm", "audioldm"] for line in lines[1:])


def test_default_model_is_fp16_and_within_60_mb() -> None:
    from soundloom.engine.default_model import default_model_folder

    files = list(default_model_folder().rglob("*.safetensors"))
    assert {path.parent.name for path in files} >= {"unet", "vae", "vocoder", "text_encoder", "audio_encoder"}
    assert sum(path.stat().st_size for path in files) <= 60 * 2**20
    for path in files:
        assert {tensor.dtype for tensor in load_file(path).values()} == {__import__("torch").float16}, path


def test_training_commands_refuse_bad_input_in_one_line(tiny_checkpoint: Path, tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    sf.write(tmp_path / "clips" / "a.wav", np.zeros(1600) + 0.1, 16000)
    clap = soundloom("train", "clap", "--data", tmp_path / "clips", "--out", tmp_path / "run")
    assert clap.returncode == 2 and "captions-train.jsonl" in clap.stderr
    finetune = soundloom(
        "train",
        "finetune",
        "--model",
        tiny_checkpoint,
        "--data",
        tmp_path / "clips",
        "--out",
        tmp_path / "ft",
    )
    assert finetune.returncode == 2 and "ships only the CLAP text branch" in finetune.stderr
    assert len(finetune.stderr.strip().splitlines()) == 1
    empty = soundloom(
        "train",
        "ldm",
        "--data",
        tmp_path / "none",
        "--vae",
        tmp_path,
        "--vocoder",
        tmp_path,
        "--clap",
        tmp_path,
        "--out",
        tmp_path / "ldm",
    )
    assert empty.returncode == 2 and "holds no audio_encoder/" in empty.stderr
