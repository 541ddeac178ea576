"""A training run's folder: resumable state written atomically, loss curves, exported components.

RUN/state.pt        model + optimizer + step + losses + RNG states (write-then-rename)
RUN/losses.png      the loss curve, redrawn at every checkpoint
RUN/samples/        periodic audio previews
RUN/<component>/    config.json + safetensors in the published layout the engine loads
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

STATE_FILE = "state.pt"


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
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 3.5), dpi=100)
    steps, values = zip(*losses, strict=True)
    axes.plot(steps, values, linewidth=0.8)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    _replace_atomically(path, lambda target: figure.savefig(target, format="png"))
    pyplot.close(figure)
