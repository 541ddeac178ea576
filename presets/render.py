"""The render stage every result passes through on its way to a file: a pure function of
(dry audio, effect chain, export settings), so a chain can be edited and re-applied to any earlier take
without regenerating it.

Order: resample to the export rate -> channel layout -> effects (with their tail) -> fades ->
loudness or peak normalisation -> true-peak ceiling. Bit depth and dither happen in `to_pcm` at write time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from ..engine.clip import fit_length, resample, resample_loop
from .effects import EffectChain, build_board
from .errors import PresetError
from .loudness import ABSOLUTE_GATE_LUFS, integrated_loudness, limit_true_peak, true_peak_dbtp

SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
CHANNEL_LAYOUTS = ("same", "mono", "stereo")
STEREO_MODES = ("dual-mono", "wide")
BIT_DEPTHS = ("16", "24", "32f")
TAIL_FLOOR_DB = -60.0  # a tail counts as ended once it stays this far under the rendered peak
# A dry take quieter than this is near silent: the model made little of the prompt (room tone at best).
NEAR_SILENT_LUFS = -45.0
# Normalisation that raises a take more than this brings its noise floor and artefacts up with it.
MAX_QUIET_GAIN_DB = 24.0
NO_CHAIN = EffectChain()


# A loudness target is above the first and at most the second: nothing is measured below BS.1770's
# absolute gate (-70 LUFS), so a target there could never be met. The app's "off" sits at the first.
LOUDNESS_RANGE_LUFS = (ABSOLUTE_GATE_LUFS, 0.0)


@dataclass(frozen=True)
class ExportSettings:
    """How a rendered file is delivered. `sample_rate` None keeps the dry audio's rate.

    Level is only touched when asked: by an effect chain, `loudness_lufs` (integrated, BS.1770) or
    `peak_dbtp` (true-peak normalisation). Whenever it is, the true peak is then held at `ceiling_dbtp`.
    """

    sample_rate: int | None = None
    channels: str = "same"  # same | mono | stereo
    stereo_mode: str = "dual-mono"  # mono -> stereo: identical channels, or "wide" (see widen)
    loudness_lufs: float | None = None
    peak_dbtp: float | None = None
    ceiling_dbtp: float = -1.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    bit_depth: str = "32f"  # 16 (TPDF-dithered) | 24 | 32f
    length_s: float | None = None  # deliver exactly round(length_s * rate) frames (bars at a tempo)

    def problems(self) -> list[str]:
        found = []
        if self.sample_rate is not None and self.sample_rate not in SAMPLE_RATES:
            rates = ", ".join(map(str, SAMPLE_RATES))
            found.append(f"rate must be one of {rates} Hz, got {self.sample_rate}")
        if self.channels not in CHANNEL_LAYOUTS:
            found.append(f"channels must be one of {', '.join(CHANNEL_LAYOUTS)}, got {self.channels!r}")
        if self.stereo_mode not in STEREO_MODES:
            found.append(f"stereo mode must be one of {', '.join(STEREO_MODES)}, got {self.stereo_mode!r}")
        if self.bit_depth not in BIT_DEPTHS:
            found.append(f"bit depth must be one of {', '.join(BIT_DEPTHS)}, got {self.bit_depth!r}")
        if self.loudness_lufs is not None and self.peak_dbtp is not None:
            found.append("normalise to a loudness or to a peak, not both")
        low, high = LOUDNESS_RANGE_LUFS
        if self.loudness_lufs is not None and not low < self.loudness_lufs <= high:
            found.append(
                f"loudness must be above {low:g} and at most {high:g} LUFS, got {self.loudness_lufs:g}"
            )
        for name in ("peak_dbtp", "ceiling_dbtp"):
            value = getattr(self, name)
            if value is not None and not -60 <= value <= 0:
                found.append(f"{name.replace('_dbtp', '')} must be between -60 and 0 dBTP, got {value:g}")
        if self.length_s is not None and not 0 < self.length_s <= 3600:
            found.append(f"length must be above 0 and at most 3600 s, got {self.length_s:g}")
        for name in ("fade_in_s", "fade_out_s"):
            if not 0 <= getattr(self, name) <= 30:
                found.append(f"{name.replace('_s', '').replace('_', ' ')} must be 0 to 30 s")
        return found

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ExportSettings | None:
        """Export settings as a take's provenance holds them; None when `data` is not a valid set."""
        if not isinstance(data, dict):
            return None
        known = {item.name for item in fields(cls)}
        try:
            settings = cls(**{key: value for key, value in data.items() if key in known})
            return None if settings.problems() else settings
        except (TypeError, ValueError):  # a value of another type: a hand edit, another tool
            return None


@dataclass
class RenderedAudio:
    """The delivered signal, (frames, channels) float32, and what the render measured of it."""

    audio: np.ndarray = field(repr=False)
    sample_rate: int
    loudness_lufs: float  # integrated, after everything
    true_peak_dbtp: float
    tail_s: float  # how much the effects added past the dry end
    gain_db: float  # the normalisation gain applied (0 when none)
    notes: list[str] = field(default_factory=list)  # e.g. "loudness held 1.2 LU under target by the ceiling"
    # What a person should hear about before using the take: near silence, a large normalisation gain.
    warnings: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate


def render(
    dry: np.ndarray,
    sample_rate: int,
    chain: EffectChain = NO_CHAIN,
    export: ExportSettings | None = None,
    loop: bool = False,
) -> RenderedAudio:
    """Render dry audio ((frames,) or (frames, channels) at `sample_rate`) into a delivery signal.

    A loop stays seamless: it is resampled as a loop, its effect tail wraps onto its start (the chain
    runs over repeated periods and the last one is kept), and no fades are applied.
    """
    export = export or ExportSettings()
    problems = export.problems()
    if problems:
        raise PresetError("; ".join(problems))
    audio = dry[:, None] if dry.ndim == 1 else dry
    rate = export.sample_rate or sample_rate
    if rate != sample_rate:
        frames = round(audio.shape[0] * rate / sample_rate)
        audio = resample_loop(audio, frames) if loop else resample(audio, sample_rate, rate, frames)
    audio = _layout(audio.astype(np.float32), rate, export)
    dry_frames = audio.shape[0]
    notes: list[str] = []
    warnings = _quiet_dry(integrated_loudness(audio, rate))
    audio = _apply_chain(audio, rate, chain, loop)
    if not np.isfinite(audio).all():  # caught where it arises, before any measurement spreads it
        raise PresetError("the effects produced NaN or infinite samples").in_preset(chain.name)
    if export.length_s is not None:  # a musical length: exact to the sample at the delivery rate
        audio = fit_length(audio, round(export.length_s * rate))
    if not loop:
        audio = _fade(audio, rate, export.fade_in_s, export.fade_out_s)
    level_changed = bool(chain.active) or export.loudness_lufs is not None or export.peak_dbtp is not None
    gain_db = _normalisation_gain(audio, rate, export, notes)
    if gain_db > MAX_QUIET_GAIN_DB:
        warnings.append(
            f"normalisation raised it by {gain_db:.0f} dB: its noise and artefacts came up with it"
        )
    audio = (audio * 10 ** (gain_db / 20)).astype(np.float32)
    peak_dbtp, loudness_before_limit = true_peak_dbtp(audio, rate), None
    if level_changed and peak_dbtp > export.ceiling_dbtp:
        loudness_before_limit = integrated_loudness(audio, rate)
        audio = limit_true_peak(audio, rate, export.ceiling_dbtp)
        peak_dbtp = true_peak_dbtp(audio, rate)
    loudness_lufs = integrated_loudness(audio, rate)
    if loudness_before_limit is not None and loudness_before_limit - loudness_lufs > 0.1:
        lost = loudness_before_limit - loudness_lufs
        notes.append(f"the {export.ceiling_dbtp:g} dBTP ceiling took {lost:.1f} LU of loudness")
    return RenderedAudio(
        audio=audio,
        sample_rate=rate,
        loudness_lufs=loudness_lufs,
        true_peak_dbtp=peak_dbtp,
        tail_s=(audio.shape[0] - dry_frames) / rate,
        gain_db=gain_db,
        notes=notes,
        warnings=warnings,
    )


def _quiet_dry(dry_lufs: float) -> list[str]:
    if not math.isfinite(dry_lufs):
        return ["the dry take is silent: try another seed or prompt"]
    if dry_lufs < NEAR_SILENT_LUFS:
        return [f"the dry take is near silent ({dry_lufs:.1f} LUFS): try another seed or prompt"]
    return []


def _layout(audio: np.ndarray, sample_rate: int, export: ExportSettings) -> np.ndarray:
    if export.channels == "mono" and audio.shape[1] > 1:
        return audio.mean(axis=1, keepdims=True)
    if export.channels == "stereo" and audio.shape[1] == 1:
        mono = audio[:, 0]
        if export.stereo_mode == "wide":
            return widen(mono, sample_rate)
        return np.stack([mono, mono], axis=1)
    return audio


def widen(mono: np.ndarray, sample_rate: int, width: float = 0.35) -> np.ndarray:
    """Mono -> (frames, 2) stereo that folds back to exactly the mono signal: L = m + s, R = m - s.

    The side signal s is the mono above 300 Hz (lows stay centred) through two Schroeder all-passes
    (7.3 and 11.9 ms, g = 0.5): same spectrum, decorrelated phase. L + R = 2m, so a mono fold-down
    of the result loses nothing, unlike a Haas delay's comb filtering.
    """
    from scipy import signal  # here, not at import: scipy takes 0.7 s to load

    side = signal.sosfilt(signal.butter(2, 300, "highpass", fs=sample_rate, output="sos"), mono)
    for delay_s in (0.0073, 0.0119):
        delay, gain = round(delay_s * sample_rate), 0.5
        b = np.zeros(delay + 1)
        b[0], b[delay] = -gain, 1.0
        a = np.zeros(delay + 1)
        a[0], a[delay] = 1.0, -gain
        side = signal.lfilter(b, a, side)
    side = width * side
    return np.stack([mono + side, mono - side], axis=1).astype(np.float32)


def _apply_chain(audio: np.ndarray, sample_rate: int, chain: EffectChain, loop: bool) -> np.ndarray:
    """(frames, channels) -> the chain's output: as long as the dry, plus the kept tail."""
    if not chain.active:
        return audio
    board = build_board(chain, sample_rate)
    frames = audio.shape[0]
    if loop:  # steady state: enough repeats for the tail to wrap around, keep the last period
        repeats = 2 + math.ceil(chain.tail_max_s * sample_rate / frames)
        wet = board(np.tile(audio, (repeats, 1)).T, sample_rate).T
        return np.ascontiguousarray(wet[-frames:], dtype=np.float32)
    if chain.tail == "cut":
        return np.ascontiguousarray(board(audio.T, sample_rate).T, dtype=np.float32)
    tail_frames = round(chain.tail_max_s * sample_rate)
    padded = np.concatenate([audio, np.zeros((tail_frames, audio.shape[1]), np.float32)])
    wet = board(padded.T, sample_rate).T
    end = _tail_end(wet, frames, sample_rate)
    wet = np.array(wet[:end], dtype=np.float32)
    fade = min(round(chain.tail_fade_s * sample_rate), end - frames)
    if fade > 0:
        wet[end - fade :] *= np.cos(np.linspace(0, np.pi / 2, fade, dtype=np.float32))[:, None] ** 2
    return wet


def _tail_end(wet: np.ndarray, dry_frames: int, sample_rate: int) -> int:
    """The first frame after the dry end from which the signal stays under TAIL_FLOOR_DB of its peak."""
    floor = np.abs(wet).max() * 10 ** (TAIL_FLOOR_DB / 20)
    loud = np.flatnonzero(np.abs(wet[dry_frames:]).max(axis=1) > floor)
    if loud.size == 0:
        return dry_frames
    hop = round(0.01 * sample_rate)  # end on a 10 ms boundary past the last loud sample
    return min(wet.shape[0], dry_frames + (loud[-1] // hop + 1) * hop)


def _fade(audio: np.ndarray, sample_rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    audio = audio.copy()
    for seconds, at_start in ((fade_in_s, True), (fade_out_s, False)):
        length = min(round(seconds * sample_rate), audio.shape[0])
        if length == 0:
            continue
        ramp = np.sin(np.linspace(0, np.pi / 2, length, dtype=np.float32)) ** 2  # 0 -> 1, smooth ends
        if at_start:
            audio[:length] *= ramp[:, None]
        else:
            audio[-length:] *= ramp[::-1, None]
    return audio


def _normalisation_gain(
    audio: np.ndarray, sample_rate: int, export: ExportSettings, notes: list[str]
) -> float:
    if export.loudness_lufs is not None:
        measured = integrated_loudness(audio, sample_rate)
        target = export.loudness_lufs
    elif export.peak_dbtp is not None:
        measured = true_peak_dbtp(audio, sample_rate)
        target = export.peak_dbtp
    else:
        return 0.0
    if not math.isfinite(measured):
        notes.append("the audio is silent; it was not normalised")
        return 0.0
    return target - measured


def to_pcm(audio: np.ndarray, bit_depth: str, seed: int = 0) -> np.ndarray:
    """Float audio -> the array a WAV of `bit_depth` stores: int16 (TPDF dither of +-1 LSB), int32
    holding 24-bit values in its top bits, or float32. Deterministic: the dither's seed is fixed, so
    the same render writes the same bytes.
    """
    if bit_depth == "32f":
        return audio.astype(np.float32)
    if bit_depth == "16":
        rng = np.random.default_rng(seed)
        dither = rng.random(audio.shape) - rng.random(audio.shape)  # triangular on (-1, 1) LSB
        return np.clip(np.round(audio * 32767.0 + dither), -32768, 32767).astype(np.int16)
    if bit_depth == "24":
        values = np.clip(np.round(audio.astype(np.float64) * 8388607.0), -8388608, 8388607)
        return (values.astype(np.int32) << 8).astype(np.int32)
    raise PresetError(f"bit depth must be one of {', '.join(BIT_DEPTHS)}, got {bit_depth!r}")
