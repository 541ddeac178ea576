"""`soundloom batch` in one process (no Ray): job lists, preset sweeps, names, loudness, the manifest and
its CSV, line-numbered validation, a job that always fails, and resuming after the driver is killed."""

from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ..helpers.batch_run import (
    assert_exactly_once,
    batch_command,
    batch_env,
    manifest,
    provenance,
    run_batch,
    start_batch,
    summary_count,
    takes_in,
    wait_for_records,
    write_jobs,
)

NC_CARD = "---\nlicense: cc-by-nc-sa-4.0\n---\n\n# AudioLDM\n"
FOOTSTEP_SURFACES = 6  # presets/builtin/prompts/footsteps.toml suggests six surfaces


def batch(jobs: Path, out: Path, model: Path, *flags: str) -> subprocess.CompletedProcess:
    return run_batch(jobs, out, "--model", model, *flags)


@pytest.fixture
def nc_model(checkpoint_copy: Path) -> Path:
    (checkpoint_copy / "README.md").write_text(NC_CARD)
    return checkpoint_copy


def test_a_preset_sweep_and_an_edit_render_every_take_named_loudness_matched_and_recorded(
    nc_model: Path, tmp_path: Path
) -> None:
    sf.write(tmp_path / "clip.wav", np.sin(np.arange(8000) / 7).astype(np.float32) * 0.3, 16000)
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        {"prompt": "glass shatter", "variations": 2, "duration": 0.5, "steps": 2},
        "# every footstep surface the preset suggests, one take each",
        {"preset": "Footsteps", "vars": {"surface": "*"}, "duration": 0.5, "steps": 2},
        {"command": "transfer", "input": "clip.wav", "prompt": "wind", "strength": 0.5, "steps": 2},
    )
    out = tmp_path / "library"
    flags = ("--loudness", "-20", "--name", "UCS", "--catid", "FOOTGrvl")
    run = batch(jobs, out, nc_model, *flags)
    assert run.returncode == 0, run.stderr
    total = 2 + FOOTSTEP_SURFACES + 1
    assert_exactly_once(out, total)
    assert (summary_count(run.stderr, "rendered"), summary_count(run.stderr, "failed")) == (total, 0)
    for path in takes_in(out):
        assert path.name.startswith("FOOTGrvl_") and path.stem.split("-")[0].endswith("_SL_Soundloom")
        made = provenance(path)
        assert made["loudness_lufs"] == pytest.approx(-20, abs=0.5), path.name
        assert made["licence"]["id"] == "cc-by-nc-sa-4.0"
    snow = [p for p in takes_in(out) if provenance(p)["prompt"].startswith("footsteps on snow")]
    assert len(snow) == 1 and provenance(snow[0])["fx"]["name"] == "Tight Foley"  # the preset's chain
    edits = [p for p in takes_in(out) if provenance(p)["operation"] == "transfer"]
    assert len(edits) == 1 and provenance(edits[0])["source_file"] == str((tmp_path / "clip.wav").resolve())

    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(rows) == total and {row["file"] for row in rows} == {p.name for p in takes_in(out)}
    assert {(row["licence"], row["non_commercial"]) for row in rows} == {("cc-by-nc-sa-4.0", "yes")}
    assert all(row["description"].endswith("| licence cc-by-nc-sa-4.0 (non-commercial)") for row in rows)

    # The same command again renders nothing: every take is in the manifest.
    again = batch(jobs, out, nc_model, *flags)
    assert again.returncode == 0, again.stderr
    assert f"{total} take(s) already done, 0 to render" in again.stderr
    assert_exactly_once(out, total)

    # A take deleted from the library is rendered again, the same sound under the same name.
    gone = takes_in(out)[3]
    audio_before, _ = sf.read(gone)
    gone.unlink()
    third = batch(jobs, out, nc_model, *flags)
    assert third.returncode == 0, third.stderr
    assert f"{total - 1} take(s) already done, 1 to render (1 recorded but deleted)" in third.stderr
    assert_exactly_once(out, total)
    np.testing.assert_array_equal(sf.read(gone)[0], audio_before)


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_rendered(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        {"prompt": "fine", "steps": 2},
        {"prompt": "x", "steps": 0},
        {"promt": "typo"},
        {"command": "transfer", "input": "/etc/hostname", "prompt": "x"},
        "{not json",
        {"preset": "Footsteps", "vars": {"shoe": "*"}},
        {"prompt": "x", "model": "another"},
        {"command": "explode", "prompt": "x"},
    )
    out = tmp_path / "library"
    run = batch(jobs, out, tiny_checkpoint)
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert "  line 2: steps must be between 1 and 1000, got 0" in lines
    assert any(line.startswith("  line 3: unknown key 'promt'") for line in lines)
    assert any(
        line.startswith("  line 4: /etc/hostname is outside the allowed input folders") for line in lines
    )
    assert any(line.startswith("  line 5: not JSON") for line in lines)
    assert "  line 6: the preset has no blank 'shoe' (blanks: surface)" in lines
    assert "  line 7: model: a batch renders with one model: give --model" in lines
    assert any(line.startswith("  line 8: command must be one of generate") for line in lines)
    assert (
        lines[-1].startswith(f"soundloom: error: {jobs}: line 2: ")
        and "(and 6 more); nothing was rendered" in lines[-1]
    )
    assert not out.exists(), "the folder made for a list that cannot run is removed"
    assert "Traceback" not in run.stderr


def test_csv_lists_type_their_cells_and_sweep_var_columns(tiny_checkpoint: Path, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "preset,var:surface,prompt,duration,variations,steps,seed\n"
        "Footsteps,snow|gravel,,0.4,2,2,\n"
        ',,"rain, heavy",0.4,1,2,7\n'
    )
    out = tmp_path / "library"
    check = batch(jobs, out, tiny_checkpoint, "--check")
    assert check.returncode == 0, check.stderr
    planned = check.stdout.splitlines()
    assert len(planned) == 5 and "0 take(s) already done, 5 to render" in check.stderr
    assert any("\tseed 7\train_heavy_7_1.wav" in line for line in planned)
    assert not takes_in(out), "--check renders nothing"

    jobs.write_text("prompt,duration,steps\nrain,short,2\nwind,0.4,2,extra\n")
    bad = batch(jobs, out, tiny_checkpoint)
    assert bad.returncode == 2
    assert "  line 2: duration must be a number, got 'short'" in bad.stderr
    assert "  line 3: 1 more cells than the header has columns" in bad.stderr


def test_a_job_that_always_fails_is_reported_and_the_others_finish(default_model, tmp_path: Path) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        {"prompt": "door knock", "variations": 2, "duration": 0.5, "steps": 2},
        # Valid as a request, refused by the checkpoint when it runs: the built-in model speaks no words.
        {"prompt": "a man speaking", "transcript": "hello there", "duration": 0.5, "steps": 2},
        {"prompt": "bell", "duration": 0.5, "steps": 2},
    )
    out = tmp_path / "library"
    for attempt in (1, 2):  # a rerun tries the failed take again and it fails again; the rest is skipped
        run = run_batch(jobs, out)
        assert run.returncode == 1, run.stderr
        assert "line 2 variation 1: a transcript is for the AudioLDM 2 speech checkpoints" in run.stderr
        assert_exactly_once(out, 3)
        if attempt == 2:
            assert "3 take(s) already done, 1 to render" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_killed_driver_resumes_and_every_take_lands_exactly_once(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        *({"prompt": f"impact {n}", "variations": 3, "duration": 0.5, "steps": 50} for n in range(4)),
    )
    out = tmp_path / "library"
    driver = start_batch(jobs, out, "--model", tiny_checkpoint)
    wait_for_records(out, driver, lambda records: len(records) >= 2)
    driver.send_signal(signal.SIGKILL)
    driver.wait(10)
    done_before = len(manifest(out))
    assert done_before < 12, "the driver finished before it was killed; make the takes longer"

    again = batch(jobs, out, tiny_checkpoint)
    assert again.returncode == 0, again.stderr
    # What the manifest held is skipped; a take landed but not recorded when the kill came is adopted.
    assert summary_count(again.stderr, "skipped") + summary_count(again.stderr, "adopted") >= done_before
    assert_exactly_once(out, 12)


def test_a_take_written_but_not_recorded_is_adopted_not_written_twice(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """What a driver killed between landing a file and recording it leaves: the file, no manifest line
    (and perhaps half a line). The next run finds the file by its provenance and records it."""
    jobs = write_jobs(
        tmp_path / "jobs.jsonl", {"prompt": "clank", "variations": 3, "duration": 0.4, "steps": 2}
    )
    out = tmp_path / "library"
    assert batch(jobs, out, tiny_checkpoint).returncode == 0
    lines = (out / "manifest.jsonl").read_text().splitlines()
    (out / "manifest.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    before = {path.name: path.read_bytes() for path in takes_in(out)}
    run = batch(jobs, out, tiny_checkpoint)
    assert run.returncode == 0, run.stderr
    assert (summary_count(run.stderr, "adopted"), summary_count(run.stderr, "rendered")) == (1, 0)
    assert {path.name: path.read_bytes() for path in takes_in(out)} == before
    assert len({entry["take"] for entry in manifest(out)}) == 3


def test_a_second_driver_on_the_same_folder_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl", {"prompt": "hum", "duration": 2, "steps": 400, "variations": 4}
    )
    out = tmp_path / "library"
    first = start_batch(jobs, out, "--model", tiny_checkpoint)
    try:
        while not (out / ".manifest.lock").exists() or not (out / ".manifest.lock").read_text():
            assert first.poll() is None
            time.sleep(0.05)
        second = batch(jobs, out, tiny_checkpoint)
        assert second.returncode == 2
        assert f"{out} is being rendered into by soundloom batch pid {first.pid}" in second.stderr
    finally:
        first.kill()
        first.wait()


PLAIN_INSTALL = """
import sys
sys.modules["ray"] = None  # as if `pip install soundloom` without the [cluster] extra: import ray fails
from soundloom.host_bridge.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_plain_install_without_ray_batches_locally_and_says_how_to_get_ray(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl", {"prompt": "creak", "variations": 2, "duration": 0.4, "steps": 2}
    )
    out = tmp_path / "library"
    env = batch_env(out)
    args = [sys.executable, "-c", PLAIN_INSTALL, *batch_command(jobs, out, "--model", tiny_checkpoint)[1:]]
    local = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert local.returncode == 0, local.stderr
    assert_exactly_once(out, 2)
    shutil.rmtree(out)
    clustered = subprocess.run(
        [*args, "--ray", "local"], capture_output=True, text=True, env=env, timeout=300
    )
    assert clustered.returncode == 2
    assert clustered.stderr.strip().splitlines()[-1] == (
        "soundloom: error: --ray needs Ray, which is not installed: pip install 'soundloom[cluster]'"
    )


def test_the_command_lines_render_options_fill_what_a_job_leaves_out(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    preset_file = tmp_path / "my-echo.toml"  # --fx may name a preset file (a job's `fx` may not)
    text = Path(__file__).parents[2].joinpath("presets/builtin/effects/canyon-echo.toml").read_text()
    preset_file.write_text(text.replace('name = "Canyon Echo"', 'name = "My Echo"'))
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        {"prompt": "plain", "duration": 0.5, "steps": 2},
        {"prompt": "peaked", "duration": 0.5, "steps": 2, "peak": -3},
        {"prompt": "crushed", "duration": 0.5, "steps": 2, "fx": "Lo-fi", "rate": 22050},
    )
    out = tmp_path / "library"
    flags = ("--loudness", "-20", "--fx", preset_file, "--rate", "48000")
    run = batch(jobs, out, tiny_checkpoint, *flags)
    assert run.returncode == 0, run.stderr
    made = {provenance(path)["prompt"]: provenance(path) for path in takes_in(out)}
    assert made["plain"]["fx"]["name"] == "My Echo" and made["plain"]["sample_rate"] == 48000
    assert made["plain"]["loudness_lufs"] == pytest.approx(-20, abs=0.5)
    assert made["peaked"]["export"]["peak_dbtp"] == -3 and made["peaked"]["export"]["loudness_lufs"] is None
    assert made["peaked"]["true_peak_dbtp"] == pytest.approx(-3, abs=0.3)
    assert made["crushed"]["fx"]["name"] == "Lo-fi" and made["crushed"]["sample_rate"] == 22050
