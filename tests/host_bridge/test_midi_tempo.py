"""MIDI clock sets the tempo; notes audition the latest takes; the virtual port fails with a clear reason."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from soundloom.engine.errors import EngineError
from soundloom.host_bridge.midi import MidiControl, Player
from soundloom.host_bridge.tempo import Tempo, TempoState


def test_bars_and_beats_in_seconds() -> None:
    assert Tempo(90, 3).seconds(bars=1) == 2.0
    assert Tempo(120, 4).seconds(bars=2, beats=1) == 4.5


def test_midi_clock_at_a_steady_rate_sets_the_tempo() -> None:
    state = TempoState()
    spacing = 60 / (137.5 * 24)  # 24 pulses per beat at 137.5 BPM
    control = MidiControl(state, takes=list, play=lambda path: None, stop=lambda: None)
    now = 100.0
    for _ in range(30):
        state.clock_tick(now)
        now += spacing
    assert state.current == Tempo(137.5, 4, "midi-clock")
    control.handle(mido.Message("stop"))  # silences; the tempo stays
    assert state.current.bpm == 137.5


def test_notes_audition_takes_in_order(tmp_path: Path) -> None:
    takes = [str(tmp_path / f"take_{i}.wav") for i in (1, 2)]
    played = []
    control = MidiControl(TempoState(), takes=lambda: takes, play=played.append, stop=lambda: None)
    assert control.handle(mido.Message("note_on", note=61, velocity=100)) == takes[1]
    assert control.handle(mido.Message("note_on", note=60, velocity=100)) == takes[0]
    assert control.handle(mido.Message("note_on", note=62, velocity=100)) is None  # no third take
    assert control.handle(mido.Message("note_on", note=60, velocity=0)) is None  # a note-off
    assert played == [takes[1], takes[0]]


def test_the_player_plays_through_portaudio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real sounddevice output, on ALSA's null device."""
    config = tmp_path / "asound.conf"
    config.write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(config))
    path = tmp_path / "take.wav"
    sf.write(path, np.zeros((4800, 2), np.float32), 48000)
    import sounddevice

    player = Player()
    player.play(str(path))
    sounddevice.wait()
    player.stop()


def test_the_virtual_port_opens_or_says_clearly_why_not() -> None:
    control = MidiControl(TempoState(), takes=list, play=print)
    if Path("/dev/snd/seq").exists():  # a machine with an ALSA sequencer: the port really opens
        control.open_virtual_port()
        control.stop()
        return
    with pytest.raises(EngineError, match=r"virtual MIDI port.*ALSA sequencer"):
        control.open_virtual_port()
