"""Choosing where and in what precision the engine runs."""

from __future__ import annotations

import torch

from .errors import EngineError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' takes CUDA when a GPU is visible, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cuda", "cpu") and not name.startswith("cuda:"):
        raise EngineError(f"unknown device {name!r} (choose auto, cuda, cuda:N or cpu)")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError("--device cuda was asked for but PyTorch sees no CUDA GPU here")
    return torch.device(name)


def resolve_dtype(name: str = "float32") -> torch.dtype:
    if name not in DTYPES:
        raise EngineError(f"unknown dtype {name!r} (choose {', '.join(DTYPES)})")
    return DTYPES[name]
