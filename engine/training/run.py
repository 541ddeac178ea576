"""A training run's folder: resumable state written atomically, loss curves, exported components.

RUN/state.pt        model + optimizer + step + losses + RNG states (write-then-rename)
RUN/losses.png      the loss curve, redrawn at every checkpoint
RUN/samples/        periodic audio previews
RUN/<component>/    config.json + safetensors in the published layout the engine loads
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..errors import EngineError, GenerationCancelled

STATE_FILE = "state.pt"
LR_SCHEDULES = ("constant", "cosine")


class Scheduled(Protocol):
    """A stage's settings that carry a learning-rate schedule."""

    steps: int
    learning_rate: float
    warmup_steps: int
    lr_schedule: str  # "constant", or "cosine": after warmup, decay to 0 at `steps`


def learning_rate(settings: Scheduled, step: int) -> float:
    """The rate for 0-based `step`: linear warmup, then constant or a cosine decay to 0 at `steps`."""
    warmup = max(settings.warmup_steps, 1)
    if step < warmup or settings.lr_schedule == "constant":
        return settings.learning_rate * min(1.0, (step + 1) / warmup)
    progress = min(1.0, (step - warmup) / max(settings.steps - warmup, 1))
    return settings.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))


def check_schedule(schedule: str) -> None:
    if schedule not in LR_SCHEDULES:
        raise EngineError(f"lr schedule must be constant or cosine (got {schedule!r})")


def _replace_atomically(path: Path, write) -> None:
    temporary = path.with_name(f".{path.name}.part")
    write(temporary)
    os.replace(temporary, path)


def save_state(run_dir: Path, state: dict[str, Any]) -> None:
    """Save a resumable state; a crash mid-write leaves the previous state intact."""
    run_dir.mkdir(parents=True, exist_ok=True)
    _replace_atomically(run_dir / STATE_FILE, lambda path: torch.save(state, path))


def load_state(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / STATE_FILE
    return torch.load(path, map_location="cpu", weights_only=True) if path.is_file() else None


def export_component(
    folder: Path, module: torch.nn.Module, config: dict[str, Any], weights_name: str
) -> Path:
    """Write config.json and the weights (safetensors, float32, contiguous) of one component."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.detach().float().contiguous().cpu() for key, value in module.state_dict().items()}
    _replace_atomically(
        folder / "config.json", lambda path: path.write_text(json.dumps(config, indent=2) + "\n")
    )
    _replace_atomically(folder / weights_name, lambda path: save_file(tensors, str(path)))
    return folder


def plot_losses(losses: list[tuple[int, float]], path: Path, title: str) -> None:
    import matplotlib  # the [train] extra: only a training run draws its losses

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 3.5), dpi=100)
    steps, values = zip(*losses, strict=True)
    axes.plot(steps, values, linewidth=0.8, alpha=0.35, label="step")
    # Diffusion losses swing with the random timestep; the trend only shows through a running mean.
    window = max(len(values) // 50, 1)
    if window > 1:
        smoothed = np.convolve(values, np.ones(window) / window, mode="valid")
        axes.plot(steps[window - 1 :], smoothed, linewidth=1.5, label=f"mean of {window}")
        axes.legend(loc="upper right")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    _replace_atomically(path, lambda target: figure.savefig(target, format="png"))
    pyplot.close(figure)


class TrainingRun:
    """One stage's resumable loop: modules, optimizers, step, losses and RNG streams live in state.pt.

    `identity` (the stage's model configuration) must match on resume, so a folder never mixes two runs.
    A stage supplies `train_step(rng) -> loss` and optionally `preview(step)`; the loop checkpoints every
    `checkpoint_every` steps, at the end, and when `cancel` is set (then it raises GenerationCancelled).
    """

    def __init__(
        self,
        run_dir: Path,
        stage: str,
        identity: dict[str, Any],
        modules: dict[str, torch.nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        seed: int,
    ):
        self.run_dir, self.stage, self.identity = run_dir, stage, identity
        self.modules, self.optimizers = modules, optimizers
        self.rng = np.random.default_rng(seed)
        self.step, self.losses = 0, []
        state = load_state(run_dir)
        if state is None:
            return
        if state.get("stage") != stage or state.get("identity") != identity:
            raise EngineError(
                f"{run_dir} holds a different run ({state.get('stage')} with other settings); "
                "choose another folder"
            )
        for name, module in modules.items():
            module.load_state_dict(state["modules"][name])
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        self.step, self.losses = state["step"], [tuple(pair) for pair in state["losses"]]
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])

    def checkpoint(self, title: str) -> None:
        save_state(
            self.run_dir,
            {
                "stage": self.stage,
                "identity": self.identity,
                "modules": {name: module.state_dict() for name, module in self.modules.items()},
                "optimizers": {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()},
                "step": self.step,
                "losses": self.losses,
                "rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
            },
        )
        plot_losses(self.losses, self.run_dir / "losses.png", title)

    def run(
        self,
        steps: int,
        train_step: Callable[[np.random.Generator], float],
        title: str,
        checkpoint_every: int,
        sample_every: int = 0,
        preview: Callable[[int], None] | None = None,
        progress: Callable[[int, int, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        if steps < 1:
            raise EngineError("steps must be 1 or more")
        for module in self.modules.values():
            module.train()
        while self.step < steps:
            loss = train_step(self.rng)
            self.step += 1
            self.losses.append((self.step, loss))
            if progress is not None:
                progress(self.step, steps, loss)
            if preview is not None and sample_every and self.step % sample_every == 0:
                preview(self.step)
            stopping = cancel is not None and cancel.is_set() and self.step < steps
            if self.step % checkpoint_every == 0 or self.step == steps or stopping:
                self.checkpoint(title)
            if stopping:
                raise GenerationCancelled(f"training stopped at step {self.step}; run again to resume")
        for module in self.modules.values():
            module.eval()


def package_checkpoint(model_dir: Path, out_dir: Path, dtype: torch.dtype = torch.float16) -> Path:
    """Copy a checkpoint folder with every floating-point tensor stored in `dtype` (fp16 halves the size).

    Written to a staging folder and renamed into place, so a failure never leaves half a checkpoint.
    """
    if not (model_dir / "model_index.json").is_file():
        raise EngineError(f"{model_dir} is not a checkpoint folder (no model_index.json)")
    if out_dir.exists():
        raise EngineError(f"{out_dir} exists; choose a new folder")
    staging = out_dir.with_name(f".{out_dir.name}.part")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(model_dir, staging, ignore=shutil.ignore_patterns("*.safetensors", ".*"))
    for weights in model_dir.rglob("*.safetensors"):
        tensors = {
            key: value.to(dtype) if value.is_floating_point() else value
            for key, value in load_file(str(weights)).items()
        }
        save_file(tensors, str(staging / weights.relative_to(model_dir)))
    os.replace(staging, out_dir)
    return out_dir
