"""Choosing where and in what precision the engine runs, and turning device failures into one line.

The choice is made from a `Hardware` record (what this machine offers), so the logic is tested on any
machine: `Hardware.here()` asks PyTorch, tests build the record for a GPU box or a Mac.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .errors import EngineError
from .limits import DEVICES_HELP, DTYPE_NAMES

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
CUDA_INDEX = re.compile(r"^cuda:(\d+)$")


@dataclass(frozen=True)
class Hardware:
    cuda_devices: int = 0
    cuda_bf16: bool = False  # the GPU computes bfloat16 natively (Ampere and later)
    mps: bool = False  # Apple silicon's Metal backend
    cpu_bf16: bool = False  # AVX512-BF16 or AMX: the CPU computes bfloat16 natively

    @classmethod
    def here(cls) -> Hardware:
        cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
        cpu = getattr(torch, "cpu", None)
        native = [
            getattr(cpu, name, lambda: False)
            for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        ]
        return cls(
            cuda_devices=cuda,
            cuda_bf16=bool(cuda) and torch.cuda.is_bf16_supported(),
            mps=torch.backends.mps.is_available(),
            cpu_bf16=any(check() for check in native),
        )


def resolve_device(name: str = "auto", hardware: Hardware | None = None) -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU; a named device must exist here."""
    hardware = hardware or Hardware.here()
    if name == "auto":
        return torch.device("cuda" if hardware.cuda_devices else "mps" if hardware.mps else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not hardware.mps:
            raise EngineError("--device mps was asked for but PyTorch sees no Apple Metal (MPS) device here")
        return torch.device("mps")
    index = CUDA_INDEX.match(name)
    if name != "cuda" and index is None:
        raise EngineError(f"unknown device {name!r} (choose {DEVICES_HELP})")
    if not hardware.cuda_devices:
        raise EngineError(f"--device {name} was asked for but PyTorch sees no CUDA GPU here")
    if index is not None and int(index[1]) >= hardware.cuda_devices:
        have = ", ".join(f"cuda:{i}" for i in range(hardware.cuda_devices))
        raise EngineError(f"--device {name}: this machine has {hardware.cuda_devices} CUDA GPU(s) ({have})")
    return torch.device(name)


def resolve_dtype(
    name: str = "float32", device: torch.device | None = None, hardware: Hardware | None = None
):
    """A dtype by name; 'auto' is bfloat16 where the device computes it natively, float16 on a GPU
    without it (and on MPS), float32 elsewhere. float32 stays the default: it is the exact one."""
    if name == "auto":
        hardware = hardware or Hardware.here()
        kind = device.type if device is not None else "cpu"
        if kind == "cuda":
            return torch.bfloat16 if hardware.cuda_bf16 else torch.float16
        if kind == "mps":
            return torch.float16
        return torch.bfloat16 if hardware.cpu_bf16 else torch.float32
    if name not in DTYPES:
        raise EngineError(f"unknown dtype {name!r} (choose {', '.join(DTYPE_NAMES)})")
    return DTYPES[name]


@contextlib.contextmanager
def on_device(device: torch.device, dtype: torch.dtype = torch.float32) -> Iterator[None]:
    """Run engine work on `device` (so cuda:1 is current on whatever thread calls), and say what a GPU
    failure means in one line instead of a traceback.

    On CUDA, cuDNN picks its fastest algorithms per shape (autotuning), and float32 stays exact: TF32,
    which cuDNN uses for float32 convolutions by default, is off for a float32 model.
    """
    context = contextlib.nullcontext()
    if device.type == "cuda":
        context = torch.cuda.device(device)
        torch.backends.cudnn.benchmark = True
        exact = dtype == torch.float32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = not exact
    try:
        with context:
            yield
    except torch.OutOfMemoryError:
        raise EngineError(
            f"{device} ran out of memory; try a shorter clip, fewer variations, --dtype float16, or "
            "another device"
        ) from None
    except RuntimeError as error:
        text = str(error)
        if device.type == "cpu" or not any(word in text for word in ("CUDA", "cuDNN", "MPS", "Metal")):
            raise
        raise EngineError(f"{device} failed: {text.splitlines()[0]}") from None
