"""The bridge's musical clock: a tempo (from OSC `/soundloom/tempo` or MIDI clock) turns bars and beats
into seconds, and seconds into an exact sample count at the DAW's rate."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLOCKS_PER_BEAT = 24  # MIDI clock: 24 pulses per quarter note


BPM_RANGE = (20.0, 400.0)  # what a request, a DAW or a MIDI clock may set
MAX_BARS = 64.0  # a request's length in bars (beats: four times as many quarter notes)


@dataclass(frozen=True)
class Tempo:
    """A tempo in quarter notes a minute, as REAPER, Live and MIDI clock all count it, and a time
    signature `beats_per_bar`/`beat_unit`: a bar of 6/8 is 6 eighths, three quarter notes."""

    bpm: float = 120.0
    beats_per_bar: int = 4
    source: str = "default"  # default | osc | midi-clock | request | live
    beat_unit: int = 4

    @property
    def quarter_notes_per_bar(self) -> float:
        return self.beats_per_bar * 4 / self.beat_unit

    def seconds(self, bars: float = 0.0, beats: float = 0.0) -> float:
        """Length of `bars` bars plus `beats` beats (quarter notes) at this tempo."""
        return (bars * self.quarter_notes_per_bar + beats) * 60.0 / self.bpm

    def signature(self) -> str:
        return f"{self.beats_per_bar}/{self.beat_unit}"


def tempo_from(options: Mapping[str, Any], current: Tempo, source: str) -> Tempo:
    """The tempo that `bpm`, `beats_per_bar` and `beat_unit` options give; what they leave out is
    `current`'s, except that a numerator without a denominator means x/4 (as before beat_unit existed)."""
    beats_per_bar = options.get("beats_per_bar", current.beats_per_bar)
    beat_unit = options.get("beat_unit", 4 if "beats_per_bar" in options else current.beat_unit)
    return Tempo(options.get("bpm", current.bpm), beats_per_bar, source, beat_unit)


class TempoState:
    """The current tempo, shared by the OSC handler, the MIDI thread and the worker."""

    def __init__(self, tempo: Tempo | None = None):
        self._tempo = tempo or Tempo()
        self._lock = threading.Lock()
        self._ticks: list[float] = []  # recent MIDI clock arrival times

    @property
    def current(self) -> Tempo:
        with self._lock:
            return self._tempo

    def update(self, options: Mapping[str, Any], source: str = "osc") -> Tempo:
        """Set the tempo from `bpm`/`beats_per_bar`/`beat_unit` options (see `tempo_from`)."""
        with self._lock:
            self._tempo = tempo_from(options, self._tempo, source)
            return self._tempo

    def clock_tick(self, now: float | None = None) -> Tempo | None:
        """One MIDI clock pulse; after a beat's worth of pulses the tempo follows their steady spacing."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._ticks and now - self._ticks[-1] > 1.0:  # a stopped clock: start measuring afresh
                self._ticks.clear()
            self._ticks = [*self._ticks[-CLOCKS_PER_BEAT:], now]
            if len(self._ticks) <= CLOCKS_PER_BEAT:
                return None
            intervals = [b - a for a, b in zip(self._ticks, self._ticks[1:], strict=False)]
        # Pulses arrive on the MIDI driver's period grid (JACK: every 1-5 ms), so single intervals jitter
        # by a period; the mean of the steady ones cancels that, and the median keeps a dropped pulse out.
        typical = statistics.median(intervals)
        steady = [interval for interval in intervals if abs(interval - typical) <= 0.25 * typical]
        spacing = statistics.fmean(steady)
        if spacing <= 0:
            return None
        bpm = round(60.0 / (spacing * CLOCKS_PER_BEAT), 2)
        return self.update({"bpm": bpm}, "midi-clock") if BPM_RANGE[0] <= bpm <= BPM_RANGE[1] else None
