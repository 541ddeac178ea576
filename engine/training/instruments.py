"""General MIDI instruments and drums rendered by FluidSynth with Debian's FluidR3 SoundFont.

A clip is a short MIDI file (mido) — a note, chord, arpeggio or phrase for melodic families, a
pattern for the drum kit — rendered by the `fluidsynth` program at the corpus sample rate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from ..errors import EngineError

SOUNDFONT = Path(os.environ.get("SOUNDLOOM_SOUNDFONT", "/usr/share/sounds/sf2/FluidR3_GM.sf2"))
# General MIDI programs (0-based) per instrument family.
PROGRAMS = {
    "piano": (0, 1, 2),
    "strings": (48, 49, 40),
    "brass": (56, 57, 61),
    "guitar": (24, 25),
    "organ": (19, 16),
    "bass": (33, 34, 32),
    "woodwind": (73, 71, 68),
}
REGISTERS = {"low": (36, 52), "high": (64, 84)}
DRUMS = {"kick": 36, "snare": 38, "closed hat": 42, "open hat": 46, "crash": 49, "tom": 45}


def _note_events(rng: np.random.Generator, family: str) -> tuple[list[tuple[float, int, float]], str, int]:
    """(start_beat, note, length_beats) events, the caption attribute, and the velocity."""
    register = "low" if family == "bass" else str(rng.choice(list(REGISTERS)))
    low, high = REGISTERS[register]
    root = int(rng.integers(low, high))
    pattern = str(rng.choice(["note", "chord", "arpeggio", "phrase"]))
    velocity = int(rng.choice([45, 100]))
    third = 4 - int(rng.integers(0, 2))  # major (4 semitones) or minor (3) triad
    chord = [root, root + third, root + 7]
    if pattern == "note":
        events = [(0.0, root, 3.0)]
    elif pattern == "chord":
        events = [(0.0, note, 3.0) for note in chord]
    elif pattern == "arpeggio":
        events = [(i * 0.5, chord[i % 3] + 12 * (i // 3), 0.5) for i in range(8)]
    else:
        scale = [0, 2, 4, 5, 7, 9, 11, 12]
        events = [(i * 0.5, root + scale[int(rng.integers(len(scale)))], 0.5) for i in range(8)]
    if velocity < 64:
        attribute = "soft"
    elif pattern in ("arpeggio", "phrase"):
        attribute = "fast" if rng.random() < 0.5 else register
    else:
        attribute = register
    return events, attribute, velocity


def _midi_file(
    events: list[tuple[float, int, float]], program: int, channel: int, velocity: int, bpm: float
) -> mido.MidiFile:
    ticks = 480
    midi = mido.MidiFile(ticks_per_beat=ticks)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    track.append(mido.Message("program_change", program=program, channel=channel, time=0))
    timeline = []
    for start, note, length in events:
        timeline.append((round(start * ticks), 1, "note_on", note))
        timeline.append((round((start + length) * ticks), 0, "note_off", note))
    now = 0
    for tick, _, kind, note in sorted(timeline):
        track.append(
            mido.Message(
                kind,
                note=note,
                velocity=velocity if kind == "note_on" else 0,
                channel=channel,
                time=tick - now,
            )
        )
        now = tick
    return midi


def render_midi(midi: mido.MidiFile, sample_rate: int) -> np.ndarray:
    """Render with FluidSynth; returns mono float audio (the SoundFont's reverb tail included)."""
    if shutil.which("fluidsynth") is None:
        raise EngineError("the corpus needs FluidSynth: install it (Debian: apt-get install fluidsynth)")
    if not SOUNDFONT.is_file():
        raise EngineError(
            f"SoundFont {SOUNDFONT} not found: install fluid-soundfont-gm or set SOUNDLOOM_SOUNDFONT"
        )
    with tempfile.TemporaryDirectory(prefix="soundloom-midi-") as folder:
        midi_path, wav_path = Path(folder) / "clip.mid", Path(folder) / "clip.wav"
        midi.save(midi_path)
        run = subprocess.run(
            [
                "fluidsynth",
                "-ni",
                "-q",
                "-g",
                "0.6",
                "-r",
                str(sample_rate),
                "-F",
                str(wav_path),
                str(SOUNDFONT),
                str(midi_path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode != 0 or not wav_path.is_file():
            raise EngineError(f"fluidsynth failed: {run.stderr.strip() or run.returncode}")
        audio, _ = sf.read(wav_path, dtype="float32", always_2d=True)
    return audio.mean(axis=1)


def melodic(family: str, rng: np.random.Generator, sample_rate: int) -> tuple[np.ndarray, str]:
    events, attribute, velocity = _note_events(rng, family)
    bpm = 160.0 if attribute == "fast" else float(rng.uniform(80, 120))
    program = int(rng.choice(PROGRAMS[family]))
    return render_midi(_midi_file(events, program, 0, velocity, bpm), sample_rate), attribute


def drums(rng: np.random.Generator, sample_rate: int) -> tuple[np.ndarray, str]:
    speed = str(rng.choice(["slow", "fast"]))
    bpm = float(rng.uniform(70, 95) if speed == "slow" else rng.uniform(140, 175))
    events = []
    for eighth in range(16):
        beat = eighth * 0.5
        events.append((beat, DRUMS["closed hat"] if eighth % 4 else DRUMS["open hat"], 0.25))
        if eighth % 4 == 0:
            events.append((beat, DRUMS["kick"], 0.25))
        if eighth % 4 == 2:
            events.append((beat, DRUMS["snare"], 0.25))
        if rng.random() < 0.1:
            events.append((beat, DRUMS["tom"], 0.25))
    events.append((0.0, DRUMS["crash"], 1.0))
    return render_midi(_midi_file(events, 0, 9, 100, bpm), sample_rate), speed  # channel 10 is percussion
