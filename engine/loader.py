"""Loading a checkpoint of either family: the one place that knows which class serves which family.

The pipelines never import this module back (stable-audio-tools' factory pattern): `AudioLDM2` builds on
`AudioLDM`, and this table picks between them by the folder's `model_index.json`.
"""

from __future__ import annotations

from .audioldm2 import AudioLDM2
from .checkpoints import checkpoint_family, resolve_checkpoint
from .device import resolve_device, resolve_dtype
from .pipeline import AudioLDM

FAMILIES: dict[str, type[AudioLDM]] = {"audioldm": AudioLDM, "audioldm2": AudioLDM2}


def load_model(
    model: str, device: str = "auto", dtype: str = "float32", allow_pickle: bool = False
) -> AudioLDM:
    """Load a checkpoint folder or hub id of either family onto a device ('auto', 'cuda', 'mps', 'cpu').

    >>> from soundloom.engine import GenerationRequest
    >>> from soundloom.engine.loader import load_model
    >>> model = load_model("cvssp/audioldm-s-full-v2")  # doctest: +SKIP
    >>> takes = model.generate(GenerationRequest("rain on a roof", seed=42))  # doctest: +SKIP
    """
    folder = resolve_checkpoint(model, allow_pickle)
    pipeline = FAMILIES[checkpoint_family(folder)]
    where = resolve_device(device)
    return pipeline.load_folder(folder, model, where, resolve_dtype(dtype, where), allow_pickle)
