"""Loading a checkpoint of any family onto a device: its folder, its family's parts, its licence."""

from __future__ import annotations

from .checkpoints import checkpoint_family, resolve_checkpoint
from .device import resolve_device, resolve_dtype
from .families import family_loader
from .licence import folder_licence
from .local_engine import LocalEngine
from .model import DiffusionModel


def load_model(
    model: str, device: str = "auto", dtype: str = "float32", allow_pickle: bool = False
) -> LocalEngine:
    """Load a checkpoint folder or hub id of any family onto a device ('auto', 'cuda', 'mps', 'cpu').

    >>> from soundloom.engine import GenerationRequest
    >>> from soundloom.engine.loader import load_model
    >>> engine = load_model("cvssp/audioldm-s-full-v2")  # doctest: +SKIP
    >>> takes = engine.generate(GenerationRequest("rain on a roof", seed=42))  # doctest: +SKIP
    """
    folder = resolve_checkpoint(model, allow_pickle)
    where = resolve_device(device)
    dtype_here = resolve_dtype(dtype, where)
    parts = family_loader(checkpoint_family(folder))(folder, model, where, dtype_here, allow_pickle)
    return LocalEngine(DiffusionModel(parts, model, where, dtype_here, folder_licence(folder, model)))
