"""Loading the engine for any surface (the OSC bridge, the CLI, batch workers, Ray actors, the app): a
model by name, on the thread that first needs it, with its failure in the bridge's words."""

from __future__ import annotations

from collections.abc import Callable

from ..engine.api import Engine, load_engine
from .errors import BridgeError

EngineLoader = Callable[[str], Engine]  # a model's name ('default', a folder, a hub id) -> its engine


def model_loader(device: str = "auto", dtype: str = "float32", allow_pickle: bool = False) -> EngineLoader:
    """Loads a model by name ('default', a folder, a hub id); torch is imported by the first load."""

    def load(model_id: str) -> Engine:
        try:
            return load_engine(model_id, device=device, dtype=dtype, allow_pickle=allow_pickle)
        except Exception as error:  # the checkpoint's own words, after which model; the log keeps the trace
            raise BridgeError(f"cannot load the model {model_id}: {error}") from error

    return load
