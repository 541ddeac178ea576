"""Soundloom's diffusion engine.

This package's top level imports no torch, so the GUI and the bridge can build requests and read
results cheaply; the model itself lives in `soundloom.engine.pipeline` (AudioLDM.load).
"""

from .errors import EngineError, GenerationCancelled
from .requests import GeneratedAudio, GenerationRequest

__all__ = ["EngineError", "GeneratedAudio", "GenerationCancelled", "GenerationRequest"]
