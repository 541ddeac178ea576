"""Batches and the bridge on a real two-node Ray cluster (head + a second node, one CPU each): takes split
over two workers, shipped back with --collect, a worker node killed -9 mid-batch, and `serve --ray` with
its token, progress, cancel and lost workers, through liblo's oscsend/oscdump."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..helpers.batch_run import (
    assert_exactly_once,
    manifest,
    run_batch,
    start_batch,
    summary_count,
    wait_for_records,
    write_jobs,
)
from ..helpers.bridge_process import OscDump, oscsend, start_bridge, write_token
from ..helpers.ray_cluster import RAY_ENV, RayCluster

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    saved = {key: os.environ.get(key) for key in RAY_ENV}
    os.environ.update(RAY_ENV)  # the bridge processes these tests start join with the same settings
    ray_cluster = RayCluster()
    ray_cluster.start()
    try:
        yield ray_cluster
    finally:
        ray_cluster.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def two_nodes(cluster: RayCluster) -> RayCluster:
    """The cluster with its second node up (a test before may have killed it)."""
    if cluster.alive_nodes() < 2:
        cluster.start_second_node()
    return cluster


def test_a_batch_splits_over_both_nodes_and_workers_write_to_the_shared_folder(
    two_nodes: RayCluster, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        *({"prompt": f"thud {n}", "variations": 3, "duration": 0.5, "steps": 20} for n in range(3)),
    )
    out = tmp_path / "library"
    run = run_batch(jobs, out, "--model", tiny_checkpoint, "--ray", two_nodes.address, "--loudness", "-23")
    assert run.returncode == 0, run.stderr
    assert "Ray: 2 worker(s), 1 CPU each" in run.stderr
    assert_exactly_once(out, 9)
    records = manifest(out)
    assert len({entry["worker"] for entry in records}) == 2, "both actors rendered"
    assert {entry["written_by"] for entry in records} == {"worker"}  # they see --out: they write it
    assert all(entry["provenance"]["loudness_lufs"] == pytest.approx(-23, abs=0.5) for entry in records)


def test_collect_ships_every_take_back_for_the_driver_to_write(
    two_nodes: RayCluster, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl", {"prompt": "click", "variations": 4, "duration": 0.3, "steps": 4}
    )
    out = tmp_path / "library"
    run = run_batch(jobs, out, "--model", tiny_checkpoint, "--ray", two_nodes.address, "--collect")
    assert run.returncode == 0, run.stderr
    assert_exactly_once(out, 4)
    assert {entry["written_by"] for entry in manifest(out)} == {"driver"}


def test_killing_a_worker_node_mid_batch_loses_no_take_and_writes_none_twice(
    two_nodes: RayCluster, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        *({"prompt": f"rumble {n}", "variations": 4, "duration": 0.5, "steps": 60} for n in range(3)),
    )
    out = tmp_path / "library"
    driver = start_batch(jobs, out, "--model", tiny_checkpoint, "--ray", two_nodes.address)
    # Both workers busy: each has recorded a take (the next unit is sent the moment one lands).
    wait_for_records(out, driver, lambda records: len({entry["worker"] for entry in records}) >= 2)
    two_nodes.kill_second_node()
    stderr = driver.communicate(timeout=300)[1].decode()
    assert driver.returncode == 0, stderr
    assert_exactly_once(out, 12)
    assert "1 unit(s) sent again" in stderr
    log = (tmp_path / "data" / "soundloom.log").read_text()
    assert "its Ray worker was lost (1 of 3 tries)" in log


def test_a_killed_driver_reruns_on_the_cluster_and_resumes(
    two_nodes: RayCluster, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        *({"prompt": f"creak {n}", "variations": 4, "duration": 0.5, "steps": 40} for n in range(2)),
    )
    out = tmp_path / "library"
    flags = ("--model", tiny_checkpoint, "--ray", two_nodes.address)
    driver = start_batch(jobs, out, *flags)
    wait_for_records(out, driver, lambda records: len(records) >= 2)
    driver.send_signal(signal.SIGKILL)
    driver.wait(10)
    again = run_batch(jobs, out, *flags)
    assert again.returncode == 0, again.stderr
    assert summary_count(again.stderr, "skipped") + summary_count(again.stderr, "adopted") >= 2
    assert_exactly_once(out, 8)


def test_a_job_that_always_fails_on_the_cluster_is_reported_and_the_others_finish(
    two_nodes: RayCluster, default_model, tmp_path: Path
) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        {"prompt": "gong", "variations": 2, "duration": 0.5, "steps": 2},
        {"prompt": "a woman speaking", "transcript": "good morning", "duration": 0.5, "steps": 2},
    )
    out = tmp_path / "library"
    run = run_batch(jobs, out, "--ray", two_nodes.address)  # the built-in model: it speaks no words
    assert run.returncode == 1, run.stderr
    assert "line 2 variation 1: a transcript is for the AudioLDM 2 speech checkpoints" in run.stderr
    assert summary_count(run.stderr, "failed") == 1
    assert_exactly_once(out, 2)


# ---- serve --ray: the bridge's jobs on the cluster -------------------------------------------------


def send(port: int, address: str, *pairs: tuple[str, object], token: str | None = TOKEN) -> None:
    """oscsend with typed arguments: (type, value) pairs, and the token pair unless None."""
    items = list(pairs) + ([("s", "token"), ("s", token)] if token is not None else [])
    oscsend(port, address, "".join(kind for kind, _ in items), *(value for _, value in items))


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return write_token(tmp_path / "token", TOKEN)


def test_serve_ray_runs_jobs_on_the_pool_streams_progress_and_passes_cancel_on(
    two_nodes: RayCluster, tiny_checkpoint: Path, tmp_path: Path, token_file: Path
) -> None:
    bridge = start_bridge(
        tiny_checkpoint, tmp_path / "data", "--ray", two_nodes.address, "--token-file", str(token_file)
    )
    dump = OscDump()
    try:
        assert "Ray: 2 worker(s), 1 CPU each" in "".join(bridge.log)
        reply = ("s", "reply_port"), ("i", dump.port)
        send(bridge.port, "/soundloom/ping", *reply, token=None)
        assert dump.wait_for("/soundloom/error")[2:4] == ["", "unauthorized"]
        send(bridge.port, "/soundloom/ping", *reply, token="wrong-token-of-enough-length")
        deadline = time.monotonic() + 10
        while sum("unauthorized" in line for line in dump.lines) < 2:
            assert time.monotonic() < deadline, dump.lines
            time.sleep(0.05)
        send(bridge.port, "/soundloom/ping", *reply)
        dump.wait_for("/soundloom/pong")
        # Two long jobs at once: one per actor, both running together.
        for name in ("long-a", "long-b"):
            send(
                bridge.port,
                "/soundloom/generate",
                ("s", name),
                ("s", f"drone {name}"),
                ("s", "duration"),
                ("f", 0.5),
                ("s", "steps"),
                ("i", 600),
                *reply,
            )
        for name in ("long-a", "long-b"):
            dump.wait_for("/soundloom/progress", name, timeout=60)
        send(bridge.port, "/soundloom/cancel", ("s", "long-b"), *reply)
        assert dump.wait_for("/soundloom/error", "long-b")[3] == "cancelled"
        done = dump.wait_for("/soundloom/done", "long-a", timeout=120)
        assert Path(done[3]).is_file()
        # The cancelled job's actor is free again: a short job after it finishes.
        send(
            bridge.port,
            "/soundloom/generate",
            ("s", "short"),
            ("s", "tick"),
            ("s", "duration"),
            ("f", 0.3),
            ("s", "steps"),
            ("i", 3),
            *reply,
        )
        assert Path(dump.wait_for("/soundloom/done", "short", timeout=60)[3]).is_file()
        journal = (tmp_path / "data" / "jobs.sqlite").read_bytes()
        assert TOKEN.encode() not in journal, "the token is never journaled"
    finally:
        dump.close()
        bridge.stop()


def kill_busy_engine_actor(timeout: float = 60) -> None:
    """kill -9 the Ray actor process that is running the bridge's job (its title names the method)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["pgrep", "-f", "ray::EngineActor"], capture_output=True, text=True
        ).stdout.split()
        if found:
            for pid in found:
                os.kill(int(pid), signal.SIGKILL)
            return
        time.sleep(0.1)
    raise AssertionError("no EngineActor process found")


@pytest.mark.parametrize("retries, ends_in", [(1, "done"), (0, "failed")])
def test_a_lost_engine_worker_reruns_its_job_on_another_or_fails_it_when_out_of_tries(
    two_nodes: RayCluster, tiny_checkpoint: Path, tmp_path: Path, token_file: Path, retries: int, ends_in: str
) -> None:
    bridge = start_bridge(
        tiny_checkpoint,
        tmp_path / "data",
        "--ray",
        two_nodes.address,
        "--workers",
        "1",
        "--retries",
        str(retries),
        "--token-file",
        str(token_file),
    )
    dump = OscDump()
    try:
        reply = ("s", "reply_port"), ("i", dump.port)
        send(
            bridge.port,
            "/soundloom/generate",
            ("s", "job"),
            ("s", "hiss"),
            ("s", "duration"),
            ("f", 0.5),
            ("s", "steps"),
            ("i", 300),
            *reply,
        )
        dump.wait_for("/soundloom/progress", "job", timeout=60)
        kill_busy_engine_actor()
        if ends_in == "done":
            assert Path(dump.wait_for("/soundloom/done", "job", timeout=180)[3]).is_file()
        else:
            error = dump.wait_for("/soundloom/error", "job", timeout=120)
            assert error[3] == "failed" and "its Ray worker was lost on all 1 tries" in error[4]
        assert "a Ray engine worker was lost (try 1 of" in (tmp_path / "data" / "soundloom.log").read_text()
    finally:
        dump.close()
        bridge.stop()
