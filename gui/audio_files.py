"""Reading takes for the window (off the GUI thread): samples, rate and the path they came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soundfile as sf


@dataclass
class LoadedAudio:
    path: str
    audio: np.ndarray  # (frames, channels) float32
    sample_rate: int


def load_audio(path: str) -> LoadedAudio:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return LoadedAudio(path, audio, rate)
