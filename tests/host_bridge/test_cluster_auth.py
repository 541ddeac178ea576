"""A Ray head with token authentication, as Ray starts one on a machine that has a token (~/.ray/auth_token,
made by `ray get-auth-token --generate` or by any earlier `ray.init()`): a driver whose RAY_AUTH_MODE is
unset is refused by it (Ray 2.5x's own behaviour, seen here), so `soundloom batch --ray ADDRESS` turns token
mode on when the machine has a token. Its own module: it stops every Ray process when it ends."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..helpers.batch_run import assert_exactly_once, run_batch, write_jobs
from ..helpers.bridge_process import free_port
from ..helpers.ray_cluster import RAY


def test_a_head_with_token_authentication_is_joined_with_this_machines_token(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # this test's ~/.ray/auth_token, not the machine's
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    env = dict(os.environ)
    subprocess.run([RAY, "get-auth-token", "--generate"], check=True, capture_output=True, env=env)
    assert (home / ".ray" / "auth_token").is_file()
    port = free_port()
    head = subprocess.run(
        [RAY, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    try:
        assert head.returncode == 0, head.stderr
        assert "Token authentication is enabled" in head.stderr + head.stdout
        jobs = write_jobs(
            tmp_path / "jobs.jsonl", {"prompt": "latch", "variations": 2, "duration": 0.3, "steps": 2}
        )
        out = tmp_path / "library"
        run = run_batch(jobs, out, "--model", tiny_checkpoint, "--ray", f"127.0.0.1:{port}")
        assert run.returncode == 0, run.stderr
        assert_exactly_once(out, 2)
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env)
