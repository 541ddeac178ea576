"""A real two-node Ray cluster on this machine: `ray start --head` and a second `ray start --address`
node, each with one CPU, as Ray's docs start an on-premise cluster by hand; and a way to kill -9 the
second node (its raylet and every process it started), as a machine losing power would.

Ray's token authentication is turned off (RAY_AUTH_MODE=disabled for every process here): Ray turns it on
for a head started where ~/.ray/auth_token exists, and a node or driver without the token is then refused.
GCS health checks are shortened so that a dead node is declared dead in about two seconds, not thirty.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from .bridge_process import free_port

RAY = shutil.which("ray") or pytest.fail(
    "ray is not installed: pip install -e '.[cluster]' (tests/install.sh does)"
)
RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


class RayCluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.node_port = 0  # the second node's raylet port: how its processes are found
        self.env = {**os.environ, **RAY_ENV}

    def _ray(self, *args: str) -> subprocess.CompletedProcess:
        run = subprocess.run([RAY, *args], capture_output=True, text=True, env=self.env, timeout=120)
        assert run.returncode == 0, f"ray {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
        return run

    def start(self) -> None:
        self._ray(
            "start",
            "--head",
            f"--port={self.port}",
            "--num-cpus=1",
            "--include-dashboard=false",
            "--disable-usage-stats",
        )
        self.start_second_node()

    def start_second_node(self) -> None:
        self.node_port = free_port()
        self._ray(
            "start", f"--address={self.address}", "--num-cpus=1", f"--node-manager-port={self.node_port}"
        )
        self.wait_for_nodes(2)

    def alive_nodes(self) -> int:
        status = subprocess.run(
            [RAY, "status", f"--address={self.address}"],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        ).stdout
        active = status.split("Active:", 1)[-1].split("Pending:", 1)[0]
        return len(re.findall(r"node_[0-9a-f]+", active))

    def wait_for_nodes(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.alive_nodes() != count:
            assert time.monotonic() < deadline, f"the cluster did not reach {count} live nodes"
            time.sleep(0.5)

    def second_node_pids(self) -> list[int]:
        """The second node's raylet and the processes it started (its workers and agents)."""
        raylets = subprocess.run(
            ["pgrep", "-f", f"raylet.*node_manager_port={self.node_port}"], capture_output=True, text=True
        ).stdout.split()
        pids = [int(pid) for pid in raylets]
        for raylet in list(pids):
            children = subprocess.run(
                ["pgrep", "-P", str(raylet)], capture_output=True, text=True
            ).stdout.split()
            pids += [int(pid) for pid in children]
        return pids

    def kill_second_node(self) -> None:
        pids = self.second_node_pids()
        assert pids, "the second node's raylet is not running"
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=self.env, timeout=120)
