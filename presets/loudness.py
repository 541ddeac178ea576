"""Loudness and peaks as delivery specs define them: ITU-R BS.1770-4 integrated loudness (K-weighting,
400 ms blocks, absolute and relative gates), true peak by oversampling (BS.1770 Annex 2), and a
look-ahead true-peak limiter. All functions take audio as (frames, channels) float arrays.
"""

from __future__ import annotations

import math

import numpy as np

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0


def k_weighting(sample_rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting biquads (head shelf, then RLB high-pass) as (b, a) at `sample_rate`.

    The analogue prototypes behind BS.1770's 48 kHz coefficients, re-derived for any rate by the
    bilinear transform (as libebur128 does); at 48 kHz they reproduce the published table.
    """
    k = math.tan(math.pi * 1681.974450955533 / sample_rate)
    gain_high, q = 10 ** (3.999843853973347 / 20), 0.7071752369554196
    gain_band = gain_high**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array(
        [
            gain_high + gain_band * k / q + k * k,
            2 * (k * k - gain_high),
            gain_high - gain_band * k / q + k * k,
        ]
    )
    shelf_b /= a0
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    k = math.tan(math.pi * 38.13547087602444 / sample_rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    highpass_b = np.array([1.0, -2.0, 1.0])
    highpass_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return [(shelf_b, shelf_a), (highpass_b, highpass_a)]


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (-inf for silence). Mono and stereo channels weigh 1.0 each.

    A clip shorter than one 400 ms block is measured as a single block of its own length.
    """
    from scipy import signal  # here, not at import: scipy takes 0.7 s to load

    audio = _frames_channels(audio).astype(np.float64)
    for b, a in k_weighting(sample_rate):
        audio = signal.lfilter(b, a, audio, axis=0)
    block, hop = round(0.4 * sample_rate), round(0.1 * sample_rate)
    if audio.shape[0] < block:
        block_power = np.array([np.mean(audio**2, axis=0).sum()])
    else:
        starts = np.arange(0, audio.shape[0] - block + 1, hop)
        squares = np.concatenate([np.zeros((1, audio.shape[1])), np.cumsum(audio**2, axis=0)])
        block_power = ((squares[starts + block] - squares[starts]) / block).sum(axis=1)  # (blocks,)
    return gated_loudness(block_power)


def gated_loudness(block_power: np.ndarray) -> float:
    """LUFS from the 400 ms gating blocks' powers (blocks,): the absolute gate, then the relative one."""
    block_loudness = -0.691 + 10 * np.log10(np.maximum(block_power, 1e-20))
    gated = block_power[block_loudness > ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return -math.inf
    relative_gate = -0.691 + 10 * math.log10(gated.mean()) + RELATIVE_GATE_LU
    gated = block_power[(block_loudness > ABSOLUTE_GATE_LUFS) & (block_loudness > relative_gate)]
    return -0.691 + 10 * math.log10(gated.mean())


def oversampling(sample_rate: int) -> int:
    """BS.1770's factor: the reconstructed signal at 192 kHz or more."""
    return max(1, math.ceil(192000 / sample_rate))


def true_peak_envelope(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(frames,) the largest oversampled magnitude over each sample's interval, across channels."""
    from scipy import signal  # here, not at import: scipy takes 0.7 s to load

    audio = _frames_channels(audio)
    factor = oversampling(sample_rate)
    if factor == 1:
        return np.abs(audio).max(axis=1)
    upsampled = signal.resample_poly(audio.astype(np.float64), factor, 1, axis=0)  # (frames * factor, ch)
    magnitude = np.abs(upsampled).max(axis=1).reshape(-1, factor).max(axis=1)
    return np.maximum(magnitude, np.abs(audio).max(axis=1))


def true_peak_dbtp(audio: np.ndarray, sample_rate: int) -> float:
    peak = float(true_peak_envelope(audio, sample_rate).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def limit_true_peak(
    audio: np.ndarray, sample_rate: int, ceiling_dbtp: float, lookahead_s: float = 0.005, hold_s: float = 0.05
) -> np.ndarray:
    """Keep the true peak at or under `ceiling_dbtp` with as little gain reduction as possible.

    The gain each sample needs is taken as a running minimum over [n - hold, n + lookahead], then
    averaged over the last `lookahead` samples: every average includes the sample's own need, so the
    gain never exceeds it, while it ramps down ahead of a peak and back up after the hold, with no
    clicks. A final static trim covers what inter-sample interpolation of the smoothed gain leaves.
    """
    from scipy import ndimage, signal  # here, not at import: scipy takes 0.7 s to load

    audio = _frames_channels(audio)
    ceiling = 10 ** (ceiling_dbtp / 20)
    needed = np.minimum(1.0, ceiling / np.maximum(true_peak_envelope(audio, sample_rate), 1e-12))
    if needed.min() >= 1.0:
        return audio
    lookahead, hold = max(1, round(lookahead_s * sample_rate)), round(hold_s * sample_rate)
    # held[n] = min(needed[n - lookahead : n + hold + 1]): the origin shifts scipy's centred window.
    size = hold + lookahead + 1
    held = ndimage.minimum_filter1d(needed, size, origin=hold - size // 2, mode="nearest")
    kernel = np.ones(lookahead) / lookahead
    gain = signal.lfilter(kernel, [1.0], np.concatenate([np.full(lookahead, held[0]), held]))[lookahead:]
    limited = (audio * gain[:, None]).astype(np.float32)
    overshoot = true_peak_dbtp(limited, sample_rate) - ceiling_dbtp
    if overshoot > 0:
        limited = (limited * 10 ** (-(overshoot + 1e-3) / 20)).astype(np.float32)  # float32-safe margin
    return limited


def _frames_channels(audio: np.ndarray) -> np.ndarray:
    return audio[:, None] if audio.ndim == 1 else audio
