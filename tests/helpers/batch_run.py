"""`soundloom batch` as tests run it (a real process), and what they read back: the manifest, the summary
table, each file's provenance, and the exactly-once check every batch test ends with."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from soundloom.host_bridge.delivery.wav_metadata import read_metadata, read_provenance

from .cli import SOUNDLOOM


def write_jobs(path: Path, *jobs: dict | str) -> Path:
    """A JSONL job list: dicts as JSON lines, strings as they are (comments, broken lines)."""
    path.write_text("".join((job if isinstance(job, str) else json.dumps(job)) + "\n" for job in jobs))
    return path


def batch_command(jobs: Path, out: Path, *flags: str | Path) -> list[str]:
    return [SOUNDLOOM, "batch", str(jobs), "--out", str(out), *map(str, flags)]


def batch_env(out: Path) -> dict[str, str]:
    """The environment of a batch process: its log in a data folder beside the library."""
    return {**os.environ, "SOUNDLOOM_DATA_DIR": str(out.parent / "data")}


def run_batch(jobs: Path, out: Path, *flags: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        batch_command(jobs, out, *flags), capture_output=True, text=True, timeout=600, env=batch_env(out)
    )


def start_batch(jobs: Path, out: Path, *flags: str | Path) -> subprocess.Popen:
    return subprocess.Popen(
        batch_command(jobs, out, *flags),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=batch_env(out),
    )


def manifest(out: Path) -> list[dict]:
    """The manifest's records; a torn line (a driver killed mid-write, or a test's own) is left out."""
    records = []
    path = out / "manifest.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def wait_for_records(
    out: Path, driver: subprocess.Popen, enough: Callable[[list[dict]], bool], timeout: float = 180
) -> None:
    """Wait until the manifest satisfies `enough` while the driver still runs."""
    deadline = time.monotonic() + timeout
    while not enough(manifest(out)):
        assert driver.poll() is None, f"the batch ended first:\n{driver.stderr.read().decode()}"
        assert time.monotonic() < deadline, f"the manifest did not fill in {timeout} s"
        time.sleep(0.05)


def summary_count(stderr: str, row: str) -> int:
    """A count from the batch's summary table ('  rendered      9  this run')."""
    for line in stderr.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == row and fields[1].isdigit():
            return int(fields[1])
    raise AssertionError(f"no {row} row in:\n{stderr}")


def takes_in(out: Path) -> list[Path]:
    return sorted(out.glob("*.wav"))


def provenance(path: Path) -> dict:
    return read_provenance(read_metadata(path))


def assert_exactly_once(out: Path, expected: int) -> None:
    """Every take once in the manifest and once on disk, each file the take its record names."""
    records = {entry["take"]: entry for entry in manifest(out)}
    files = takes_in(out)
    assert len(records) == expected and len(files) == expected, (len(records), [f.name for f in files])
    assert {entry["file"] for entry in records.values()} == {path.name for path in files}
    for path in files:
        key = provenance(path)["batch"]["take"]
        assert records[key]["file"] == path.name
    assert not list(out.glob(".*.part")), "a half-written take was left"
