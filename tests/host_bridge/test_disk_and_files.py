"""Files and disks as they are: read-only and full file systems (real tmpfs mounts), dangling symlinks,
FIFOs, folders, huge WAVs, 8-channel and NaN inputs, the umask, fsync (issue 22, defects 5, 10, 12).
Nothing may be left behind, and every refusal is one line that names the file and the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from soundloom.host_bridge.daw.tempo import Tempo, TempoState
from soundloom.host_bridge.delivery import files
from soundloom.host_bridge.delivery.deliver import Delivery, write_takes
from soundloom.host_bridge.delivery.files import OutputError, write_wav
from soundloom.host_bridge.delivery.provenance import Provenance
from soundloom.host_bridge.jobs.errors import JobError
from soundloom.host_bridge.jobs.file_roots import FileRoots
from soundloom.host_bridge.jobs.planner import JobPlanner
from soundloom.host_bridge.osc.protocol import PREFIX, parse
from soundloom.presets import EffectChain, ExportSettings
from soundloom.presets.loudness import integrated_loudness, true_peak_dbtp

from ..helpers.cli import SOUNDLOOM, files_in, generate, soundloom
from ..helpers.disk import tmpfs


def one_line_refusal(run: subprocess.CompletedProcess, *words: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soundloom"), run.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_generate_into_a_read_only_folder_is_refused_before_generating(tiny_checkpoint, tmp_path) -> None:
    """Defect 10: a 30-40-line traceback after the whole generation ran, and the dry take left behind."""
    with tmpfs(tmp_path / "readonly", 20_000, read_only=True) as folder:
        run = generate("rain", tiny_checkpoint, folder, "--fx", "telephone")
        one_line_refusal(run, str(folder), "Read-only file system")
        assert "generating" not in run.stderr
        run = generate("rain", tiny_checkpoint, folder / "take.wav")
        one_line_refusal(run, "Read-only file system")


def test_a_dangling_symlink_out_is_refused_before_generating(tiny_checkpoint, tmp_path) -> None:
    (tmp_path / "link.wav").symlink_to(tmp_path / "gone" / "target.wav")
    run = generate("rain", tiny_checkpoint, tmp_path / "link.wav")
    one_line_refusal(run, "link.wav is a symbolic link to", "which does not exist")
    assert "generating" not in run.stderr


def test_a_take_that_does_not_fit_leaves_nothing_behind_dry_take_included(tmp_path: Path) -> None:
    """A real ENOSPC: the dry take fits, the 192 kHz stereo render after it does not."""
    with tmpfs(tmp_path / "small", 20_000) as folder:
        take = (
            Provenance(prompt="rain", seed=1, variation=1),
            np.full((48000 * 30, 1), 0.1, np.float32),
            48000,
        )
        delivery = Delivery(EffectChain(), ExportSettings(sample_rate=192000, channels="stereo"))
        with pytest.raises(OutputError, match=r"rain_1_1.wav: cannot write \(No space left on device\)"):
            write_takes([take], folder, delivery, False)
        assert [path.name for path in folder.rglob("*") if path.is_file()] == []


def test_fx_apply_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "long.wav"
    sf.write(source, np.full((48000 * 30, 1), 0.1, np.float32), 48000)
    with tmpfs(tmp_path / "small", 20_000) as folder:
        run = soundloom("fx", "apply", source, "--fx", "none", "--rate", "192000", "--channels", "stereo",
                        "--out", folder / "loud.wav")  # fmt: skip
        one_line_refusal(run, "loud.wav: cannot write (No space left on device)")
        assert files_in(folder) == set()


def test_outputs_follow_the_umask_and_reach_the_disk_before_their_name(tmp_path, monkeypatch) -> None:
    """Defect 12: outputs were mode 0600 whatever the umask, and not fsynced before the rename."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda descriptor: synced.append(descriptor) or real_fsync(descriptor))
    path = write_wav(tmp_path / "take.wav", np.zeros((100, 1), np.float32), 48000)
    assert path.stat().st_mode & 0o777 == 0o666 & ~files._umask()
    assert len(synced) == 2  # the file, then its folder (the new name)
    assert list(tmp_path.iterdir()) == [path]


def test_a_killed_writers_part_files_are_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    dead = _finished_pid()
    stale = tmp_path / f".take.wav.{dead}.abcd1234.part"
    live = tmp_path / f".take.wav.{os.getpid()}.efgh5678.part"
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    assert files.remove_stale_parts(tmp_path) == [stale]
    assert live.exists()


def _finished_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# Runs a command and prints its peak resident kB last (a fresh parent: no other child's peak counts).
PEAK_RESIDENT = """import resource, subprocess, sys
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(run.stdout, run.stderr, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(run.returncode)"""


def test_info_refuses_fifos_and_folders_and_streams_a_big_wav(tmp_path: Path) -> None:
    """Defect 5: `info` on a 2 GB WAV reached 22 GB resident; on a FIFO it hung."""
    os.mkfifo(tmp_path / "pipe.wav")
    one_line_refusal(soundloom("info", tmp_path / "pipe.wav"), "named pipe (FIFO)")
    one_line_refusal(soundloom("info", tmp_path), "a folder")
    small, big = tmp_path / "small.wav", tmp_path / "big.wav"
    second = (0.25 * np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)).astype(np.float32)  # 1 s, periodic
    sf.write(small, second, 48000, subtype="FLOAT")
    with sf.SoundFile(big, "w", 48000, 1, "FLOAT") as stream:  # 160 MB: 14 minutes of mono float
        for _ in range(834):
            stream.write(second)
    loudness, peak = integrated_loudness(second, 48000), true_peak_dbtp(second, 48000)
    level = f"{loudness:.1f} LUFS integrated, true peak {peak:.1f} dBTP"
    peaks = []
    for path in (small, big):
        run = subprocess.run(
            [sys.executable, "-c", PEAK_RESIDENT, SOUNDLOOM, "info", str(path)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0 and level in run.stdout, (level, run)
        peaks.append(int(run.stdout.split()[-1]) / 1024)
    print(f"\ninfo peak resident: {peaks[0]:.0f} MB for 1 s, {peaks[1]:.0f} MB for 160 MB of audio")
    assert peaks[1] - peaks[0] < 100, peaks  # the whole file would be 160 MB as float32 alone


def test_argparse_errors_are_one_line() -> None:
    """Defect 12: a usage error printed 17 lines."""
    one_line_refusal(soundloom("generate", "rain", "--steps", "many", "--out", "/tmp"), "--steps", "see")


@pytest.fixture
def planner(tmp_path: Path) -> JobPlanner:
    roots = FileRoots.make([tmp_path], tmp_path / "out", allow_temp=False)
    return JobPlanner(roots, TempoState(Tempo(120.0, 4, "default")))


def plan(planner: JobPlanner, path: Path, *options) -> None:
    """Plan a transfer of `path` as the bridge does: the OSC message, parsed, as a JobSpec."""
    planner.plan(parse(PREFIX + "transfer", ["t1", str(path), "rain", *options]).spec(), "t1")


def refusal(planner: JobPlanner, path: Path, *options) -> JobError:
    with pytest.raises(JobError) as refused:
        plan(planner, path, *options)
    return refused.value


def test_inputs_are_refused_for_what_they_are(planner: JobPlanner, tmp_path: Path) -> None:
    """Defect 12: 8 channels read as bad_path; FIFOs and folders as "no such file"; NaN failed late."""
    sf.write(tmp_path / "octo.wav", np.zeros((4800, 8), np.float32), 48000)
    error = refusal(planner, tmp_path / "octo.wav")
    assert (error.code, error.message.split(": ")[1]) == (
        "bad_value",
        "8 ch at 48000 Hz; mono/stereo, 8-192 kHz",
    )
    os.mkfifo(tmp_path / "pipe.wav")
    assert refusal(planner, tmp_path / "pipe.wav").message.endswith("a named pipe (FIFO), not an audio file")
    (tmp_path / "folder.wav").mkdir()
    assert refusal(planner, tmp_path / "folder.wav").message.endswith("a folder, not an audio file")
    nan = np.zeros((48000, 1), np.float32)
    nan[30000] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 48000, subtype="FLOAT")
    error = refusal(planner, tmp_path / "nan.wav")
    assert (error.code, error.message.split(": ")[1]) == (
        "bad_value",
        "the audio holds NaN or infinite samples",
    )
    sf.write(tmp_path / "fine.wav", np.zeros((48000, 1), np.float32), 48000, subtype="FLOAT")
    plan(planner, tmp_path / "fine.wav")  # accepted
    before_nan = ["in_offset", 0.0, "in_length", 0.5]  # the NaN is at 0.625 s: outside the region sent
    plan(planner, tmp_path / "nan.wav", *before_nan)
