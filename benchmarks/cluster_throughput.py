"""Takes per minute on the built-in model: `soundloom batch` in one process and on a real Ray cluster with 1
and 2 single-thread workers, and `soundloom serve` with and without `--ray`, all on this machine.

Every configuration renders the same list twice, N takes and 2N takes, each a fresh process (a batch) or
a fresh bridge (serve). The wall time of 2N less that of N, over N, is the steady cost of one take: what a
long library costs per take, with start-up (imports, the model load, Ray's actors) cancelled out. The
start-up itself is the rest of the N-take run. The Ray cluster is one head started with `ray start --head
--num-cpus 2` (its actors take one CPU each, and Ray sets their OMP_NUM_THREADS to 1); the local rows run
with OMP_NUM_THREADS=1 too, so "Ray's overhead per take" compares one thread with one thread.

Run: python3 -m benchmarks.cluster_throughput [--takes 8] [--duration 2] [--steps 25]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from soundloom.host_bridge.cli.client import Connection
from soundloom.host_bridge.osc.protocol import PREFIX

from tests.helpers.bridge_process import free_port

SOUNDLOOM = shutil.which("soundloom") or "soundloom"
RAY = shutil.which("ray") or "ray"
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
PROMPTS = [
    "footsteps on gravel",
    "glass shatter",
    "door slam",
    "rain on a tin roof",
    "dog bark",
    "engine idle",
]


def job_list(folder: Path, takes: int, duration: float, steps: int) -> Path:
    path = folder / f"jobs-{takes}.jsonl"
    lines = [
        {"prompt": PROMPTS[n % len(PROMPTS)], "seed": n, "duration": duration, "steps": steps}
        for n in range(takes)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def timed_batch(jobs: Path, out: Path, env: dict[str, str], *flags: str) -> float:
    started = time.perf_counter()
    run = subprocess.run(
        [SOUNDLOOM, "batch", str(jobs), "--out", str(out), *flags], capture_output=True, text=True, env=env
    )
    elapsed = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"batch {' '.join(flags)} failed:\n{run.stderr}")
    return elapsed


def timed_serve(
    takes: int, duration: float, steps: int, data: Path, env: dict[str, str], *flags: str
) -> float:
    """Start a bridge, send `takes` one-take jobs at once, wait for every `done`: seconds from the first
    send to the last done, plus the bridge's start (so the slope method treats both like a batch)."""
    port = free_port()
    started = time.perf_counter()
    bridge = subprocess.Popen(
        [SOUNDLOOM, "serve", "--osc-port", str(port), "--no-tcp", "--out", str(data / "out"),
         "--journal", str(data / "jobs.sqlite"), "--spool", str(data / "spool"), *flags],
        stderr=subprocess.PIPE, text=True, env={**env, "SOUNDLOOM_DATA_DIR": str(data)},
    )  # fmt: skip
    for line in bridge.stderr:
        if "bridge ready" in line:
            break
    else:
        raise SystemExit(f"serve {' '.join(flags)} did not start")
    try:
        connection = Connection("127.0.0.1", port, tcp=False)
        for n in range(takes):
            options = ["duration", float(duration), "steps", steps, "seed", n]
            connection.send(PREFIX + "generate", [f"t{n}", PROMPTS[n % len(PROMPTS)], *options])
        waiting = {f"t{n}" for n in range(takes)}
        deadline = time.monotonic() + 1800
        while waiting and time.monotonic() < deadline:
            for address, args in connection.receive(1.0):
                if address in (PREFIX + "done", PREFIX + "error") and args and args[0] in waiting:
                    if address.endswith("error"):
                        raise SystemExit(f"job {args[0]} failed: {args}")
                    waiting.discard(args[0])
        return time.perf_counter() - started
    finally:
        bridge.terminate()
        bridge.wait(30)


def measure(name: str, run: callable, takes: int) -> dict:
    short, long = run(takes, "a"), run(2 * takes, "b")
    per_take = (long - short) / takes
    row = {
        "config": name,
        "per_take_s": per_take,
        "takes_per_min": 60 / per_take,
        "startup_s": short - takes * per_take,
    }
    rate, startup = row["takes_per_min"], row["startup_s"]
    print(f"{name:<40} {rate:6.1f} takes/min {per_take:6.2f} s/take  start-up {startup:5.1f} s", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=8, help="N: each configuration renders N, then 2N")
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("bench-out") / "cluster.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="soundloom-cluster-bench-"))
    env = {**os.environ, **RAY_ENV, "SOUNDLOOM_DATA_DIR": str(work / "data")}
    one_thread = {**env, "OMP_NUM_THREADS": "1"}
    lists = {n: job_list(work, n, args.duration, args.steps) for n in (args.takes, 2 * args.takes)}
    port = free_port()
    subprocess.run([RAY, "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True, env=env)  # fmt: skip
    address = f"127.0.0.1:{port}"
    rows = []
    try:

        def batch(env_: dict, *flags: str):
            return lambda n, tag: timed_batch(lists[n], work / f"{tag}-{len(rows)}", env_, *flags)

        def serve(env_: dict, *flags: str):
            return lambda n, tag: timed_serve(
                n, args.duration, args.steps, work / f"s{tag}-{len(rows)}", env_, *flags
            )

        rows.append(measure("batch, local, 1 thread", batch(one_thread), args.takes))
        rows.append(measure("batch, local, 2 threads", batch(env), args.takes))
        rows.append(
            measure(
                "batch --ray, 1 worker (1 thread)", batch(env, "--ray", address, "--workers", "1"), args.takes
            )
        )
        rows.append(
            measure(
                "batch --ray, 2 workers (1 thread each)",
                batch(env, "--ray", address, "--workers", "2"),
                args.takes,
            )
        )
        rows.append(measure("serve, 1 thread", serve(one_thread), args.takes))
        rows.append(
            measure("serve --ray, 1 worker", serve(env, "--ray", address, "--workers", "1"), args.takes)
        )
        rows.append(
            measure("serve --ray, 2 workers", serve(env, "--ray", address, "--workers", "2"), args.takes)
        )
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env)
        shutil.rmtree(work, ignore_errors=True)
    by = {row["config"]: row for row in rows}
    scaling = (
        by["batch --ray, 2 workers (1 thread each)"]["takes_per_min"]
        / by["batch --ray, 1 worker (1 thread)"]["takes_per_min"]
    )
    overhead = (
        by["batch --ray, 1 worker (1 thread)"]["per_take_s"] - by["batch, local, 1 thread"]["per_take_s"]
    )
    serve_overhead = by["serve --ray, 1 worker"]["per_take_s"] - by["serve, 1 thread"]["per_take_s"]
    print(
        f"scaling 1 -> 2 Ray workers: {scaling:.2f}x; Ray's overhead per take: "
        f"batch {overhead * 1000:+.0f} ms, serve {serve_overhead * 1000:+.0f} ms"
    )
    summary = {
        "takes": args.takes, "duration_s": args.duration, "steps": args.steps, "rows": rows,
        "scaling": scaling, "ray_overhead_per_take_s": overhead,
        "serve_ray_overhead_per_take_s": serve_overhead,
        "cpu": os.cpu_count(), "python": sys.version.split()[0],
    }  # fmt: skip
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
