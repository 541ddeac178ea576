"""The engine as the layers above see it: the `Engine` protocol and `load_engine`. No torch here.

The OSC runner, the batch worker, the Ray actors, the CLI and the app are typed against `Engine`, so a
model in this process (`LocalEngine`) and a pool of Ray actors (`host_bridge/cluster/engine_pool.py`)
are interchangeable, and a type checker sees the two drift apart. Cancelling is a `threading.Event`
handed to a call: set, the call stops at the sampler's next step with `GenerationCancelled`.

>>> from soundloom.engine import GenerationRequest
>>> from soundloom.engine.api import load_engine
>>> engine = load_engine("default")  # doctest: +SKIP
>>> takes = engine.generate(GenerationRequest("rain on a roof", seed=42))  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .licence import Licence
from .requests import EditRequest, GeneratedAudio, GenerationRequest

Progress = Callable[[int, int], None]  # (steps done, total)
PreviewSink = Callable[[np.ndarray, float], None]  # (rough waveform at the model's rate, fraction done)


class Engine(Protocol):
    sample_rate: int  # the rate generated takes come at (edits come back at the clip's rate)
    licence: Licence  # the checkpoint's, from its model card

    def generate(
        self,
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[GeneratedAudio]: ...

    def edit(
        self,
        request: EditRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> list[GeneratedAudio]: ...

    def status(self) -> dict[str, Any]: ...


def load_engine(
    model: str | None, device: str = "auto", dtype: str = "float32", allow_pickle: bool = False
) -> Engine:
    """Load a model by name ('default' or None: the built-in one; a checkpoint folder; a hub id) into this
    process, on a device ('auto', 'cuda', 'cuda:N', 'mps', 'cpu'); torch is imported here, on the calling
    thread, the first time."""
    from .default_model import resolve_model
    from .loader import load_model

    return load_model(resolve_model(model), device=device, dtype=dtype, allow_pickle=allow_pickle)
