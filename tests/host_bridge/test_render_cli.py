"""Delivery as a user meets it: `generate --fx`, `fx apply`, `presets`, `info`; real processes, real files."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from soundloom.host_bridge.delivery.deliver import Delivery, write_takes
from soundloom.host_bridge.delivery.provenance import Provenance
from soundloom.host_bridge.delivery.wav_metadata import read_bext, read_chunks, read_provenance
from soundloom.presets import ExportSettings, load_library
from soundloom.presets.loudness import integrated_loudness

from ..helpers.cli import files_in, generate, soundloom

RENDER = ("--seed", "11", "--duration", "1.0", "--steps", "2")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def config(tmp_path: Path) -> dict:
    """A user config folder of the test's own, so the real user's presets never leak in."""
    return {"SOUNDLOOM_CONFIG_DIR": str(tmp_path / "config")}


def take(prompt: str = "metal door slam", seed: int = 5, variation: int = 1) -> Provenance:
    return Provenance(operation="generate", prompt=prompt, negative_prompt="music", seed=seed, steps=25,
                      guidance_scale=2.5, sampler="dpm++", variation=variation, variations=1,
                      model_id="default", loop=False)  # fmt: skip


def test_provenance_survives_a_write_and_read_round_trip(tmp_path):
    chain = load_library().effect("Radio Voice")
    delivery = Delivery(
        chain=chain, export=ExportSettings(sample_rate=48000, bit_depth="24", loudness_lufs=-20)
    )
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    [written] = write_takes([(take(), audio, 16000)], tmp_path, delivery, overwrite=False)
    data = Path(written.take.path).read_bytes()
    provenance = read_provenance(data)
    assert provenance == written.take.provenance.to_dict()
    assert Provenance.from_dict(provenance) == written.take.provenance  # the JSON round trip
    assert provenance["prompt"] == "metal door slam" and provenance["seed"] == 5
    assert (
        provenance["fx"]["name"] == "Radio Voice"
        and provenance["fx"]["effect"][0]["type"] == "HighpassFilter"
    )
    assert provenance["export"]["sample_rate"] == 48000 and provenance["loudness_lufs"] == pytest.approx(
        -20, abs=0.5
    )
    # what other software reads: BWF bext first, INFO title and comment (libsndfile), the audio itself
    assert [chunk for chunk, _ in read_chunks(data)][:2] == [b"bext", b"fmt "]
    bext = read_bext(data)
    assert bext["description"].startswith("metal door slam | seed 5 | 25 steps dpm++ cfg 2.5")
    assert bext["coding_history"].startswith("A=PCM,F=48000,W=24,M=mono,T=Soundloom")
    assert bext["loudness_lufs"] == pytest.approx(provenance["loudness_lufs"], abs=0.01)
    with sf.SoundFile(written.take.path) as handle:
        assert handle.title == "metal door slam" and "seed 5" in handle.comment
        assert handle.samplerate == 48000 and handle.subtype == "PCM_24" and handle.frames == 48000
    assert (tmp_path / provenance["dry_file"]).is_file()  # the dry take, to re-render from


def test_a_name_collision_yields_a_new_file_never_an_overwrite(tmp_path):
    audio = np.zeros(1600, np.float32)
    delivery = Delivery(name_pattern="{prompt}_{seed}")
    [first] = write_takes([(take(), audio, 16000)], tmp_path, delivery, overwrite=False)
    before = digest(Path(first.take.path))
    [second] = write_takes([(take(), audio + 0.1, 16000)], tmp_path, delivery, overwrite=False)
    assert first.take.name == "metal_door_slam_5.wav" and second.take.name == "metal_door_slam_5-2.wav"
    assert digest(Path(first.take.path)) == before
    # two takes of one batch with the same name also get different files
    pair = write_takes([(take(), audio, 16000), (take(), audio, 16000)], tmp_path, delivery, overwrite=False)
    assert [item.take.name for item in pair] == ["metal_door_slam_5-3.wav", "metal_door_slam_5-4.wav"]
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".part")]


def test_ucs_names_sort_like_a_sound_library(tmp_path):
    delivery = Delivery(name_pattern="UCS", catid="DOORMetl", creator="JD", source="Soundloom")
    [written] = write_takes([(take(), np.zeros(160, np.float32), 16000)], tmp_path, delivery, overwrite=False)
    assert written.take.name == "DOORMetl_Metal Door Slam_JD_Soundloom.wav"


def test_generate_renders_through_a_preset_at_the_asked_rate_loudness_and_depth(
    tiny_checkpoint, tmp_path, config
):
    run = generate(
        "glass break", tiny_checkpoint, tmp_path, "--fx", "Cinematic Impact", "--rate", "48000",
        "--loudness", "-18", "--bits", "24", "--channels", "stereo", "--seed", "3", env=config,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    path = Path(run.stdout.split()[0])
    assert path.name == "glass_break_3_1.wav"
    audio, rate = sf.read(path, dtype="float32")
    assert rate == 48000 and audio.shape[1] == 2 and sf.info(path).subtype == "PCM_24"
    assert integrated_loudness(audio, rate) == pytest.approx(-18.0, abs=0.5)
    assert len(audio) > 0.3 * 48000  # 0.3 s asked, plus the reverb's tail
    provenance = read_provenance(path.read_bytes())
    assert provenance["fx"]["name"] == "Cinematic Impact" and provenance["seed"] == 3
    dry, dry_rate = sf.read(path.parent / provenance["dry_file"], dtype="float32")
    assert dry_rate == 16000 and len(dry) == round(0.3 * 16000)  # the model's own output, kept

    info = soundloom("info", path)
    assert info.returncode == 0, info.stderr
    assert "glass break" in info.stdout and "Cinematic Impact" in info.stdout
    assert "regenerate   soundloom generate " in info.stdout and "--seed 3" in info.stdout
    assert info.stdout.splitlines()[-1].endswith("-- 'glass break'")


def test_fx_apply_re_renders_from_the_dry_take_without_stacking_effects(tiny_checkpoint, tmp_path, config):
    first = generate("wind", tiny_checkpoint, tmp_path, "--fx", "Underwater", "--seed", "4", env=config)
    assert first.returncode == 0, first.stderr
    rendered = Path(first.stdout.split()[0])
    before = digest(rendered)
    run = soundloom(
        "fx", "apply", rendered, "--fx", "Radio Voice", "--out", tmp_path / "radio.wav", env=config
    )
    assert run.returncode == 0, run.stderr
    assert "re-rendering the dry take" in run.stderr
    provenance = read_provenance((tmp_path / "radio.wav").read_bytes())
    assert (
        provenance["fx"]["name"] == "Radio Voice"
        and provenance["seed"] == 4
        and provenance["prompt"] == "wind"
    )
    # the same chain on the dry directly gives the same audio: Underwater is gone, not underneath
    dry = Path(read_provenance(rendered.read_bytes())["dry_file"])
    direct = soundloom(
        "fx", "apply", rendered.parent / dry, "--fx", "Radio Voice", "--out", tmp_path / "d.wav", env=config
    )
    assert direct.returncode == 0, direct.stderr
    np.testing.assert_array_equal(sf.read(tmp_path / "radio.wav")[0], sf.read(tmp_path / "d.wav")[0])
    assert digest(rendered) == before  # inputs are never touched

    (rendered.parent / dry).unlink()
    missing = soundloom("fx", "apply", rendered, "--fx", "Lo-fi", "--out", tmp_path / "lofi.wav", env=config)
    assert missing.returncode == 2 and "dry take" in missing.stderr and "--as-is" in missing.stderr
    assert not (tmp_path / "lofi.wav").exists()
    as_is = soundloom(
        "fx", "apply", rendered, "--fx", "Lo-fi", "--as-is", "--out", tmp_path / "lofi.wav", env=config
    )
    assert as_is.returncode == 0, as_is.stderr


def test_a_prompt_preset_fills_the_prompt_and_brings_its_chain(tiny_checkpoint, tmp_path, config):
    run = soundloom(
        "generate", "--preset", "Footsteps", "--var", "surface=snow", "--model", tiny_checkpoint,
        "--steps", "2", "--duration", "0.5", "--seed", "2", "--out", tmp_path, env=config,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    provenance = read_provenance(Path(run.stdout.split()[0]).read_bytes())
    assert provenance["prompt"] == "footsteps on snow, close perspective, steady walking pace"
    assert provenance["negative_prompt"] == "music, speech, reverb, low quality"
    assert provenance["duration_s"] == 0.5  # an explicit option wins over the preset's 5 s
    assert provenance["fx"]["name"] == "Tight Foley"


@pytest.mark.parametrize(
    ("flags", "preset_text", "words"),
    [
        (("--fx", "Reverbish"), None, "no effect preset called 'Reverbish'"),
        (
            ("--fx", "mine"),
            'kind = "effects"\nname = "Mine"\n\n[[effect]]\ntype = "Gain"\ngain_db = "loud"\n',
            "mine.toml:6: preset 'Mine', effect 1 (Gain), field 'gain_db': must be a number",
        ),
        (
            ("--fx", "ir"),
            'kind = "effects"\nname = "IR"\n\n[[effect]]\ntype = "Convolution"\n'
            'impulse_response = "gone.wav"\n',
            "field 'impulse_response': file",
        ),
        (
            ("--fx", "ext"),
            'kind = "effects"\nname = "Ext"\n\n[[effect]]\ntype = "plugin"\npath = "Fake.vst3"\n',
            "preset 'Ext', effect 1 (plugin), field 'path': the plugin",
        ),
        (("--name", "{prompt}_{take}"), None, "unknown name field {take}"),
        (("--name", "UCS"), None, "needs a CatID"),
        (("--rate", "12345"), None, "invalid choice"),
        (("--loudness", "-18", "--peak", "-1"), None, "not allowed with argument"),
        (("--preset", "Footsteps", "--var", "floor=wood"), None, "no blank called 'floor'"),
    ],
)
def test_bad_render_input_is_one_clear_line_and_nothing_is_written(
    tiny_checkpoint, tmp_path, config, flags, preset_text, words
):
    out = tmp_path / "out"
    out.mkdir()
    folder = Path(config["SOUNDLOOM_CONFIG_DIR"]) / "presets"
    folder.mkdir(parents=True)
    if preset_text:
        (folder / f"{flags[1]}.toml").write_text(preset_text)
        (folder / "Fake.vst3").write_bytes(b"not a plugin")
    run = generate("door", tiny_checkpoint, out, *flags, env=config)
    assert run.returncode == 2, run.stderr
    assert words in run.stderr and "Traceback" not in run.stderr
    assert files_in(out) == set()


def test_presets_list_show_and_validate(tmp_path, config):
    listing = soundloom("presets", "list", env=config)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert sum(line.startswith("effects") for line in lines) >= 12
    assert sum(line.startswith("prompt") for line in lines) >= 12
    shown = soundloom("presets", "show", "sci-fi drone", env=config)
    assert 'name = "Sci-fi Drone"' in shown.stdout and shown.stdout.startswith("# ")
    valid = soundloom("presets", "validate", env=config)
    assert valid.returncode == 0 and "31 of 31 presets valid" in valid.stdout

    folder = Path(config["SOUNDLOOM_CONFIG_DIR"]) / "presets"
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text('kind = "effects"\nname = "Bad"\ntail = "long"\n')
    broken = soundloom("presets", "validate", env=config)
    assert broken.returncode == 2 and "bad.toml:3: preset 'Bad', field 'tail'" in broken.stderr
    assert "31 of 32 presets valid" in broken.stdout
    listing = soundloom("presets", "list", env=config)
    assert listing.returncode == 0 and "Cinematic Impact" in listing.stdout and "bad.toml" in listing.stderr
    one = soundloom("presets", "validate", folder / "bad.toml", env=config)
    assert one.returncode == 2 and "0 of 1 presets valid" in one.stdout


def test_info_on_a_file_without_provenance_and_on_a_non_wav(tmp_path):
    sf.write(tmp_path / "plain.wav", np.zeros(4800), 48000)
    plain = soundloom("info", tmp_path / "plain.wav")
    assert plain.returncode == 0 and "none (not written by Soundloom)" in plain.stdout
    (tmp_path / "text.wav").write_text("hello")
    bad = soundloom("info", tmp_path / "text.wav")
    assert bad.returncode == 2 and "not a WAV file" in bad.stderr


def test_writes_are_stamped_now(tmp_path):
    [written] = write_takes(
        [(take(), np.zeros(160, np.float32), 16000)], tmp_path, Delivery(), overwrite=False
    )
    created = datetime.fromisoformat(written.take.provenance.created)
    assert abs((datetime.now() - created).total_seconds()) < 60
