"""What a sound designer meets on the first day with the command line (issue 34): each test failed before
its fix."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf
from soundloom.host_bridge.delivery.deliver import Delivery, take_name
from soundloom.host_bridge.delivery.provenance import Provenance
from soundloom.host_bridge.delivery.take_file import TakeFile
from soundloom.host_bridge.delivery.wav_metadata import read_provenance
from soundloom.host_bridge.osc.replies import send_done
from soundloom.host_bridge.osc.transport import ReplyTarget
from soundloom.presets.loudness import integrated_loudness

from ..helpers.cli import SOUNDLOOM, generate, soundloom


def in_folder(folder: Path, *args: str | Path) -> subprocess.CompletedProcess:
    """`soundloom` run from `folder`, with paths typed relative to it as a user types them."""
    return subprocess.run(
        [SOUNDLOOM, *map(str, args)], cwd=folder, capture_output=True, text=True, timeout=300, env=os.environ
    )


def test_fx_apply_on_a_plain_file_in_a_subfolder_by_a_relative_path(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    sf.write(tmp_path / "mine" / "door.wav", np.sin(np.arange(16000) / 5).astype(np.float32) * 0.3, 16000)
    run = in_folder(tmp_path, "fx", "apply", "mine/door.wav", "--fx", "Telephone", "--out", "mine/tel.wav")
    assert run.returncode == 0, run.stderr  # was: "rendered from the dry take mine/mine/door.wav ... missing"
    assert "dry take" not in run.stderr and (tmp_path / "mine" / "tel.wav").is_file()


def test_out_with_a_trailing_slash_makes_the_folder(tiny_checkpoint: Path, tmp_path: Path) -> None:
    run = in_folder(tmp_path, "generate", "metal door slam", "--model", tiny_checkpoint, "--duration", "0.3",
                    "--steps", "2", "--seed", "7", "--out", "sfx/")  # fmt: skip
    assert run.returncode == 0, run.stderr  # was: "sfx: give a .wav file or an existing folder"
    assert [path.name for path in (tmp_path / "sfx").iterdir()] == ["metal_door_slam_7_1.wav"]
    again = in_folder(tmp_path, "fx", "apply", "sfx/metal_door_slam_7_1.wav", "--fx", "none", "--out", "fx/")
    assert again.returncode == 0, again.stderr and (tmp_path / "fx").is_dir()
    # Only the folder itself is made, never its parents (a typo must not grow a tree); a file is no folder.
    deep = in_folder(tmp_path, "generate", "x", "--model", tiny_checkpoint, "--out", "no/such/")
    assert deep.returncode == 2 and "folder no does not exist" in deep.stderr
    assert not (tmp_path / "no").exists()
    (tmp_path / "file").write_text("")
    clash = in_folder(tmp_path, "generate", "x", "--model", tiny_checkpoint, "--out", "file/")
    assert clash.returncode == 2 and "is a file, not a folder" in clash.stderr


def test_fx_apply_keeps_the_takes_export_settings_unless_told(tiny_checkpoint: Path, tmp_path: Path) -> None:
    made = generate("rain", tiny_checkpoint, tmp_path / "rain.wav", "--rate", "48000", "--bits", "24",
                    "--loudness", "-18", "--channels", "stereo", seed=3)  # fmt: skip
    assert made.returncode == 0, made.stderr
    kept = soundloom("fx", "apply", tmp_path / "rain.wav", "--fx", "Radio Voice", "--out", tmp_path / "r.wav")
    assert kept.returncode == 0, kept.stderr
    info = sf.info(tmp_path / "r.wav")
    assert (info.samplerate, info.subtype, info.channels) == (48000, "PCM_24", 2)  # was 16 kHz, float, mono
    audio, rate = sf.read(tmp_path / "r.wav", dtype="float32")
    assert abs(integrated_loudness(audio, rate) - -18) < 0.5  # was -26
    assert read_provenance((tmp_path / "r.wav").read_bytes())["export"]["loudness_lufs"] == -18
    told = soundloom("fx", "apply", tmp_path / "rain.wav", "--fx", "none", "--rate", "44100", "--peak", "-3",
                     "--out", tmp_path / "told.wav")  # fmt: skip
    assert told.returncode == 0, told.stderr
    export = read_provenance((tmp_path / "told.wav").read_bytes())["export"]
    assert (export["sample_rate"], export["bit_depth"], export["channels"]) == (44100, "24", "stereo")
    assert export["peak_dbtp"] == -3 and export["loudness_lufs"] is None  # a level given replaces the take's


def test_a_near_silent_or_much_raised_take_is_said_on_the_command_line_and_in_replies(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    noise = np.random.default_rng(1).standard_normal(48000).astype(np.float32)
    sf.write(quiet, noise * 10 ** (-58 / 20), 48000)  # about -55 LUFS
    run = soundloom("fx", "apply", quiet, "--fx", "none", "--loudness", "-14", "--out", tmp_path / "up.wav")
    assert run.returncode == 0, run.stderr
    assert "warning: the dry take is near silent (-5" in run.stderr
    assert "warning: normalisation raised it by 4" in run.stderr  # ~41 dB
    info = soundloom("info", tmp_path / "up.wav").stdout
    assert info.count("warning      ") == 2  # carried in the file's provenance
    take = TakeFile.read(tmp_path / "up.wav")
    sent = Recorded()
    send_done(sent, "r1", [take])
    addresses = [address for address, _ in sent.messages]
    assert addresses == ["/soundloom/warning", "/soundloom/warning", "/soundloom/result", "/soundloom/done"]
    assert sent.messages[0][1][:2] == ["r1", take.path]


class Recorded(ReplyTarget):
    def __init__(self) -> None:
        self.messages: list[tuple[str, list]] = []

    def send(self, address: str, args: list) -> None:
        self.messages.append((address, args))


def test_the_model_load_is_said_before_the_wait(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """At a terminal the wait for the model is said; a script's stderr (not a terminal) stays as it was."""
    master, slave = pty.openpty()
    command = [SOUNDLOOM, "generate", "rain", "--model", str(tiny_checkpoint), "--duration", "0.3",
               "--steps", "2", "--out", str(tmp_path / "rain.wav")]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert process.wait(300) == 0, seen
    text = seen.decode()
    loading = text.index(f"loading model {tiny_checkpoint} …")
    assert loading < text.index("model loaded in ") < text.index("generating")
    piped = generate("rain", tiny_checkpoint, tmp_path / "again.wav")
    assert piped.returncode == 0 and "loading model" not in piped.stderr


def test_names_are_cut_at_word_boundaries_and_ucs_takes_numbered_from_01() -> None:
    now = datetime(2026, 12, 7, 21, 0, 0)
    long = Provenance(prompt="the quick brown fox jumps over the lazy dog near the riverbank at dawn", seed=1)
    cut = take_name(Delivery(name_pattern="{prompt}"), long, now)
    assert cut == "the_quick_brown_fox_jumps_over_the_lazy_dog_near"  # was "..._near_the_riv"
    ucs = Delivery(name_pattern="UCS", catid="DOORWood", creator="JD", source="Lib")
    prompt = "heavy wooden door slam, echoing hall"
    names = [take_name(ucs, Provenance(prompt=prompt, variation=n, variations=2), now) for n in (1, 2)]
    assert names == ["DOORWood_Heavy Wooden Door Slam 01_JD_Lib", "DOORWood_Heavy Wooden Door Slam 02_JD_Lib"]
    single = Provenance(prompt=prompt, variation=1, variations=1)
    one = take_name(ucs, single, now)
    assert one == "DOORWood_Heavy Wooden Door Slam_JD_Lib"  # a single take has no number; no word is cut


def test_help_and_version_do_not_wait_for_scipy() -> None:
    probe = "import sys, soundloom.host_bridge.cli; print('scipy' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "False", run.stderr  # it took 0.7 s of the 1.2 s `--help` took
    version = soundloom("--version")
    assert version.returncode == 0 and version.stdout.startswith("soundloom ")
