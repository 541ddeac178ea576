"""Speech from espeak-ng voices, resampled to the corpus rate with a polyphase filter."""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from ..errors import EngineError

SENTENCES = (
    "the door is open",
    "please stand clear of the closing doors",
    "welcome to the station",
    "turn left at the next corner",
    "the weather will be cold tonight",
    "one two three four five",
    "are you ready",
    "the package has arrived",
    "listen carefully to the sound",
    "all systems are go",
)
VOICES = {"male": ("en-us+m3", "en-gb+m1", "en-us+m7"), "female": ("en-us+f3", "en-gb+f2", "en-us+f5")}


def speech(rng: np.random.Generator, sample_rate: int) -> tuple[np.ndarray, str]:
    if shutil.which("espeak-ng") is None:
        raise EngineError("the corpus needs espeak-ng: install it (Debian: apt-get install espeak-ng)")
    gender = str(rng.choice(list(VOICES)))
    voice = str(rng.choice(VOICES[gender]))
    sentence = str(rng.choice(SENTENCES))
    speed, pitch = int(rng.integers(120, 190)), int(rng.integers(30, 70))
    with tempfile.TemporaryDirectory(prefix="soundloom-speech-") as folder:
        path = Path(folder) / "speech.wav"
        run = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), sentence],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if run.returncode != 0:
            raise EngineError(f"espeak-ng failed: {run.stderr.strip() or run.returncode}")
        audio, rate = sf.read(path, dtype="float32")
    divisor = math.gcd(sample_rate, rate)
    return signal.resample_poly(audio, sample_rate // divisor, rate // divisor), gender
