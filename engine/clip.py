"""Clips as a DAW sends them: any WAV/AIFF/FLAC file in, sample-exact resampling, no torch.

A clip is (frames, channels) float32 at its own sample rate. The engine works at the model's rate and
hands results back at the clip's rate and length, sample for sample: resampling is soxr's very high
quality linear-phase converter, whose whole-signal API compensates its filter delay, so nothing drifts.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import EngineError

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8_000, 192_000
READABLE_FORMATS = {"WAV": "WAV", "WAVEX": "WAV", "RF64": "WAV", "W64": "WAV", "AIFF": "AIFF", "FLAC": "FLAC"}


@dataclass(frozen=True)
class Clip:
    """Audio from the user: (frames, channels) float32, mono or stereo, at `sample_rate`."""

    audio: np.ndarray = field(repr=False)
    sample_rate: int
    source: str = ""  # where it came from, for messages

    @property
    def frames(self) -> int:
        return self.audio.shape[0]

    @property
    def channels(self) -> int:
        return self.audio.shape[1]

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as an audio file, in words (checked without opening it: a FIFO would
    block); None for a regular file."""
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as error:
        return f"cannot read it ({error.strerror or error})"
    if stat.S_ISDIR(mode):
        return "a folder, not an audio file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not an audio file"
    if not stat.S_ISREG(mode):
        return "a device or socket, not an audio file"
    return None


def read_clip(path: Path, max_duration_s: float) -> Clip:
    """Read a WAV, AIFF or FLAC file (8-192 kHz, mono or stereo, int or float); refuse anything else."""
    path = Path(path)
    problem = file_problem(path)
    if problem is not None:
        raise EngineError(f"{path}: {problem}")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        raise EngineError(f"{path}: not a readable audio file (WAV, AIFF or FLAC expected)") from None
    if info.format not in READABLE_FORMATS:
        raise EngineError(f"{path}: {info.format_info} files are not supported; use WAV, AIFF or FLAC")
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise EngineError(
            f"{path}: sample rate {info.samplerate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    if info.channels not in (1, 2):
        raise EngineError(f"{path}: {info.channels} channels; mono or stereo clips only")
    if info.frames == 0:
        raise EngineError(f"{path}: the file holds no audio")
    if info.frames / info.samplerate > max_duration_s:
        raise EngineError(
            f"{path}: {info.frames / info.samplerate:.2f} s is longer than the {max_duration_s:g} s limit"
        )
    try:
        audio, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise EngineError(f"{path}: cannot decode the audio ({error})") from None
    if not np.isfinite(audio).all():
        raise EngineError(f"{path}: the audio holds NaN or infinite samples")
    return Clip(audio, sample_rate, str(path))


def resample(audio: np.ndarray, from_rate: int, to_rate: int, frames: int | None = None) -> np.ndarray:
    """(frames, ...) at from_rate -> (frames', ...) at to_rate, frames' = `frames` or the rounded ratio.

    soxr's output can differ from the ideal length by a sample; it is trimmed or zero-padded at the end
    (never the start, which would shift the timing).
    """
    target = frames if frames is not None else round(audio.shape[0] * to_rate / from_rate)
    if from_rate != to_rate:
        audio = soxr.resample(np.ascontiguousarray(audio, dtype=np.float32), from_rate, to_rate, "VHQ")
    return fit_length(np.asarray(audio, dtype=np.float32), target)


def resample_loop(loop: np.ndarray, frames: int) -> np.ndarray:
    """Stretch one period of a loop (frames_in, ...) to exactly `frames` samples, seamless at the wrap.

    Three copies are converted together and the middle one is kept, so the filter sees the loop's own
    wrap-around on both sides; the ratio is frames / frames_in, so the middle period starts at `frames`.
    """
    if loop.shape[0] == frames:
        return loop.astype(np.float32)
    tiled = np.concatenate([loop, loop, loop]).astype(np.float32)
    stretched = soxr.resample(tiled, loop.shape[0], frames, "VHQ")
    return fit_length(stretched, 3 * frames)[frames : 2 * frames]


def fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    """Trim or zero-pad (frames_in, ...) at the end to exactly `frames`."""
    if audio.shape[0] >= frames:
        return audio[:frames]
    padding = [(0, frames - audio.shape[0])] + [(0, 0)] * (audio.ndim - 1)
    return np.pad(audio, padding)


def equal_power_splice(original: np.ndarray, new: np.ndarray, start: int, end: int, fade: int) -> np.ndarray:
    """`original` with [start, end) taken from `new`, crossfaded over `fade` samples on each side.

    Both are (frames, channels). Outside [start - fade, end + fade) the result is `original`, bit for bit;
    inside [start, end) it is `new`; the fades are equal-power (cos/sin), right for uncorrelated audio.
    """
    out = original.copy()
    out[start:end] = new[start:end]
    # Ramp positions are sample centres in (0, 1), so neither end of a fade is exactly 0 or 1; a fade the
    # clip's edge cuts short keeps the positions it would have had.
    fade_in = np.arange(max(start - fade, 0), start)
    fade_out = np.arange(end, min(end + fade, original.shape[0]))
    for samples, position in (
        (fade_in, (fade_in - (start - fade) + 0.5) / fade),
        (fade_out, 1.0 - (fade_out - end + 0.5) / fade),
    ):
        angle = (np.pi / 2 * position)[:, None]  # 0: original, pi/2: new
        mixed = np.cos(angle) * original[samples] + np.sin(angle) * new[samples]
        out[samples] = mixed.astype(np.float32)
    return out
