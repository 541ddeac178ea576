"""Soundloom's diffusion engine.

This package's top level imports no torch, so the GUI and the bridge can build requests and read
results cheaply; the model itself lives in `soundloom.engine.pipeline` (AudioLDM.load).
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
