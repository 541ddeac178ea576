"""Joining a Ray cluster (`--ray auto|local|ADDRESS`) and sizing a pool of model actors for it.

Each actor loads the model once and renders one request at a time. On a GPU cluster an actor takes one GPU
(or a fraction: `--gpus-per-worker 0.5` puts two on a card); on CPU nodes it takes `--cpus-per-worker`
cores, and Ray sets OMP_NUM_THREADS to that number in the actor, which is the thread count torch takes.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BridgeError

log = logging.getLogger(__name__)

RAY_MODES = ("auto", "local")  # or an ADDRESS, host:port of a running head node
INSTALL_HINT = "pip install 'soundloom[cluster]'"
NAMESPACE = "soundloom"


class ClusterError(BridgeError):
    """The cluster cannot be joined or cannot run what was asked; the message says which and why."""


def ray_module() -> Any:
    """The `ray` package, or ClusterError saying how to install it."""
    try:
        import ray  # the optional extra: imported only when a cluster is asked for
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def connect(address: str) -> Any:
    """Join the cluster `address` names: 'auto' (a running one: RAY_ADDRESS, else the latest `ray start`
    on this machine), 'local' (start a private one in this process, all of this machine's cores), or
    host:port of a head node. Returns the `ray` module."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network here, and nothing to report
    if address != "local":
        _token_auth_when_a_token_is_at_hand()  # before Ray is imported: it reads its mode once
    ray = ray_module()
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = dict(
        namespace=NAMESPACE, log_to_driver=False, include_dashboard=False, configure_logging=False
    )
    try:
        if address == "local":
            ray.init(**options)
        else:
            ray.init(address=address, **options)
    except ConnectionError as error:
        hint = "start one with `ray start --head`, or use --ray local" if address == "auto" else ""
        raise ClusterError(f"cannot join the Ray cluster at {address}: {error} {hint}".strip()) from None
    except (ValueError, RuntimeError) as error:  # a malformed address, a version mismatch
        raise ClusterError(f"cannot join the Ray cluster at {address}: {error}") from None
    log.info("joined the Ray cluster at %s: %s", address, ray.cluster_resources())
    return ray


def _token_auth_when_a_token_is_at_hand() -> None:
    """Use Ray's token authentication when this machine has a token and RAY_AUTH_MODE is unset: what
    `ray start --head` does for the head (ray/_private/authentication/authentication_token_setup.py,
    maybe_enable_token_auth_if_token_available), but a driver left unset is refused by such a head. A
    token also reaches a head without authentication."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


@dataclass(frozen=True)
class WorkerShape:
    """What each model actor asks Ray for, and how many to start."""

    workers: int
    cpus: float
    gpus: float

    @property
    def device(self) -> str:
        return "cuda" if self.gpus > 0 else "cpu"

    def options(self) -> dict[str, Any]:
        """Ray actor options: the resources, and no restarts (a lost actor's work is re-sent by us,
        bounded; Ray restarting it on a dead node would wait for ever)."""
        return {"num_cpus": self.cpus, "num_gpus": self.gpus, "max_restarts": 0}

    def describe(self) -> str:
        each = f"{self.gpus:g} GPU" if self.gpus else f"{self.cpus:g} CPU"
        return f"{self.workers} worker(s), {each} each"


def worker_shape(
    resources: dict[str, float], workers: int | None, cpus: float | None, gpus: float | None
) -> WorkerShape:
    """Size the pool from the cluster's total resources: one actor per GPU (or per `gpus` of one) when the
    cluster has GPUs and `gpus` is not 0, else one per `cpus` cores (default 1). `workers` caps it."""
    total_gpus, total_cpus = resources.get("GPU", 0.0), resources.get("CPU", 0.0)
    gpus = (1.0 if total_gpus else 0.0) if gpus is None else gpus
    cpus = 1.0 if cpus is None else cpus
    if gpus < 0 or cpus <= 0:
        raise ClusterError(f"a worker needs more than 0 CPUs and 0 or more GPUs, got {cpus:g} and {gpus:g}")
    if gpus > 0 and not total_gpus:
        raise ClusterError(f"--gpus-per-worker {gpus:g}, but the cluster has no GPU ({_listing(resources)})")
    fits = math.floor(total_gpus / gpus + 1e-9) if gpus else math.floor(total_cpus / cpus + 1e-9)
    if fits < 1:
        raise ClusterError(f"not one worker fits the cluster ({_listing(resources)})")
    if workers is not None and workers < 1:
        raise ClusterError(f"--workers must be 1 or more, got {workers}")
    return WorkerShape(min(workers or fits, fits), cpus, gpus)


def _listing(resources: dict[str, float]) -> str:
    return ", ".join(f"{resources.get(name, 0):g} {name}" for name in ("CPU", "GPU"))


def first_line(error: BaseException) -> str:
    """The first line of a Ray error (its messages run to a page), for a log line or a reply."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
