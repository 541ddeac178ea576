"""Soundloom's diffusion engine.

This package's top level imports no torch, so the GUI and the bridge can build requests and read
results cheaply; a model is loaded by `soundloom.engine.api.load_engine` (docs/architecture.md maps
the engine's rooms).
"""

from .clip import Clip, read_clip
from .errors import EngineError, GenerationCancelled
from .requests import EditRequest, GeneratedAudio, GenerationRequest

__all__ = [
    "Clip",
    "EditRequest",
    "EngineError",
    "GeneratedAudio",
    "GenerationCancelled",
    "GenerationRequest",
    "read_clip",
]
