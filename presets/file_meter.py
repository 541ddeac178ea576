"""Integrated loudness and true peak of an audio file of any length, read in blocks: the numbers
loudness.py's whole-array functions give, in memory bounded by one block (a 2 GB WAV costs megabytes).

Loudness: the K-weighting filters carry their state from block to block, and the running sum of squares
is kept only where a 400 ms gating block starts or ends (every 100 ms), which is all the gates need.
True peak: each block is oversampled with enough neighbouring frames that the interpolation filter sees
what it would see in the whole signal.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf

from .loudness import gated_loudness, k_weighting, oversampling

BLOCK_FRAMES = 2**18  # about 5 s at 48 kHz
CONTEXT_FRAMES = 64  # resample_poly's filter reaches 10 input frames each side at its default window


def measure_file(path: Path, block_frames: int = BLOCK_FRAMES) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file soundfile reads; -inf for silence."""
    from scipy import signal  # here, not at import: scipy takes 0.7 s to load

    with sf.SoundFile(str(path)) as audio_file:
        rate, frames, channels = audio_file.samplerate, audio_file.frames, audio_file.channels
        gate_block, hop = round(0.4 * rate), round(0.1 * rate)
        starts = np.arange(0, frames - gate_block + 1, hop) if frames >= gate_block else np.zeros(0, int)
        marks = np.unique(np.concatenate([starts, starts + gate_block]))  # sorted frame positions
        sums_at_marks = np.zeros((marks.size, channels))
        filter_states = [np.zeros((2, channels)) for _ in range(2)]
        filters = k_weighting(rate)
        total = np.zeros(channels)
        peak = 0.0
        for offset in range(0, frames, block_frames):
            block = _read(audio_file, offset, block_frames)
            weighted = block.astype(np.float64)
            for index, (b, a) in enumerate(filters):
                weighted, filter_states[index] = signal.lfilter(
                    b, a, weighted, axis=0, zi=filter_states[index]
                )
            running = np.cumsum(weighted**2, axis=0) + total  # the sum of squares up to each frame
            inside = (marks > offset) & (marks <= offset + len(block))
            sums_at_marks[inside] = running[marks[inside] - offset - 1]
            total = running[-1]
            peak = max(peak, _true_peak(audio_file, offset, len(block), rate, block))
    if frames == 0:
        return -math.inf, -math.inf
    if frames < gate_block:
        block_power = np.array([total.sum() / frames])
    else:
        at = {int(mark): sums for mark, sums in zip(marks, sums_at_marks, strict=True)}
        block_power = np.array([(at[s + gate_block] - at[s]).sum() / gate_block for s in starts.tolist()])
    return gated_loudness(block_power), (20 * math.log10(peak) if peak > 0 else -math.inf)


def _read(audio_file: sf.SoundFile, offset: int, frames: int) -> np.ndarray:
    audio_file.seek(offset)
    return audio_file.read(frames, dtype="float32", always_2d=True)


def _true_peak(audio_file: sf.SoundFile, offset: int, frames: int, rate: int, block: np.ndarray) -> float:
    from scipy import signal  # here, not at import: scipy takes 0.7 s to load

    factor = oversampling(rate)
    sample_peak = float(np.abs(block).max(initial=0.0))
    if factor == 1:
        return sample_peak
    start = max(0, offset - CONTEXT_FRAMES)
    extended = _read(audio_file, start, offset - start + frames + CONTEXT_FRAMES).astype(np.float64)
    upsampled = signal.resample_poly(extended, factor, 1, axis=0)
    interior = upsampled[(offset - start) * factor : (offset - start + frames) * factor]
    return max(sample_peak, float(np.abs(interior).max(initial=0.0)))
