"""Every "regenerate" line `soundloom info` prints, pasted into a POSIX shell, remakes its file: the same
audio, byte for byte (the render is deterministic: 16-bit dither has a fixed seed), at the same rate,
bits, layout and loudness, named by the same pattern. For generate and every edit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from soundloom.host_bridge.delivery.wav_metadata import read_chunks, read_provenance

from ..helpers.cli import soundloom

RENDER = (
    "--fx", "Radio Voice", "--rate", "48000", "--bits", "24", "--channels", "stereo", "--stereo", "wide",
    "--loudness", "-20", "--name", "{operation}_{prompt}_{seed}_{variation}",
)  # fmt: skip
FAST = ("--steps", "2", "--seed", "9", "--guidance", "3.5", "--sampler", "ddim", "--eta", "0.5")
EDITS = {
    "transfer": ("door creak", "--strength", "0.6"),
    "inpaint": ("cough", "--start", "0.1", "--end", "0.3", "--fade", "0.01"),
    "extend": ("room tone", "--seconds", "0.25"),
    "vary": (),
}


def audio_bytes(path: Path) -> bytes:
    [data] = [payload for chunk, payload in read_chunks(path.read_bytes()) if chunk == b"data"]
    return data


def regenerate_line(path: Path) -> str:
    info = soundloom("info", path)
    assert info.returncode == 0, info.stderr
    [line] = [line for line in info.stdout.splitlines() if line.startswith("regenerate   ")]
    return line.removeprefix("regenerate   ")


def remake(path: Path) -> Path:
    """Run the printed line as a person pastes it: through /bin/sh, one command."""
    line = regenerate_line(path)
    run = subprocess.run(line, shell=True, executable="/bin/sh", capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (line, run.stderr)
    [remade] = run.stdout.split("\n")[0].split("\t")[:1]
    return Path(remade)


def same_take(original: Path, remade: Path) -> None:
    assert remade != original and original.is_file()  # a new file beside it: the original stays
    assert remade.parent == original.parent
    assert audio_bytes(remade) == audio_bytes(original)
    for path in (original, remade):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "PCM_24")
    made, again = read_provenance(original.read_bytes()), read_provenance(remade.read_bytes())
    for key in ("operation", "prompt", "seed", "steps", "sampler", "eta", "guidance_scale", "export", "fx"):
        assert made[key] == again[key], key
    assert remade.stem.startswith(original.stem)  # the same pattern: only a "-2" to keep the name free


def test_a_generated_take_is_remade_exactly(tiny_checkpoint: Path, tmp_path: Path) -> None:
    # A prompt that starts with '-' stays a prompt: the line puts it after `--`.
    run = soundloom("generate", "--model", tiny_checkpoint, "--duration", "0.3", *FAST, *RENDER,
                    "--out", f"{tmp_path}/takes/", "--", "-rain; on tin")  # fmt: skip
    assert run.returncode == 0, run.stderr
    original = Path(run.stdout.split("\t")[0].strip())
    assert original.parent == tmp_path / "takes"  # --out DIR/ made the folder
    line = regenerate_line(original)
    assert line.startswith("soundloom generate ") and line.endswith("-- '-rain; on tin'")
    same_take(original, remake(original))


@pytest.mark.parametrize("operation", sorted(EDITS))
def test_an_edit_is_remade_exactly(tiny_full_clap: Path, tmp_path: Path, operation: str) -> None:
    clip = tmp_path / "in put.wav"  # a space, so the line's quoting is tried too
    sf.write(clip, (np.sin(np.arange(8000) / 7) * 0.3).astype(np.float32), 16000)
    prompt, *options = EDITS[operation] or (None,)
    words = [clip] if prompt is None else [clip, prompt]
    run = soundloom(operation, *words, "--model", tiny_full_clap, *options, *FAST, *RENDER,
                    "--out", f"{tmp_path}/takes/")  # fmt: skip
    assert run.returncode == 0, run.stderr
    original = Path(run.stdout.split("\t")[0].strip())
    line = regenerate_line(original)
    assert line.startswith(f"soundloom {operation} ") and f"-- '{clip}'" in line
    for option in options[::2]:
        assert f" {option} " in line, option
    same_take(original, remake(original))
    info = soundloom("info", original).stdout
    if operation == "inpaint":
        assert "start_s      0.1" in info and "end_s        0.3" in info  # the region, in plain text too
    if operation == "transfer":
        assert "strength     0.6" in info
