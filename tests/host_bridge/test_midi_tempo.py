"""MIDI clock sets the tempo; notes audition the latest takes; the virtual port opens on a real MIDI
system (a JACK server with its dummy driver here, since this machine has no ALSA sequencer) or fails
with a clear reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from soundloom.host_bridge.daw.midi import MidiControl, Player
from soundloom.host_bridge.daw.tempo import Tempo, TempoState
from soundloom.host_bridge.errors import BridgeError

from ..helpers.bridge_process import OscDump, oscsend, start_bridge

JACKD = shutil.which("jackd") or pytest.fail("jackd missing: apt-get install jackd2")
JACK_LSP = shutil.which("jack_lsp") or pytest.fail("jack_lsp missing: apt-get install jackd2")


@pytest.fixture(scope="module")
def jack_server():
    """A private JACK server on the dummy driver (no sound card), named so it cannot meet another."""
    name = f"soundloom-test-{uuid.uuid4().hex[:8]}"
    server = subprocess.Popen(
        [JACKD, "--no-realtime", "--name", name, "-d", "dummy", "-r", "48000", "-p", "64"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
    deadline = time.monotonic() + 20
    while subprocess.run([JACK_LSP], env=env, capture_output=True).returncode != 0:
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail("jackd did not start: " + server.communicate()[1])
        time.sleep(0.2)
    yield name
    server.terminate()
    server.wait(10)


@pytest.fixture
def on_jack(jack_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", jack_server)
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    return jack_server


def send_clock(port_name: str, bpm: float, pulses: int, then: list[mido.Message] = ()) -> None:
    """A real JACK MIDI client that plays `pulses` clock pulses at `bpm` into `port_name`, then `then`."""
    output = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True).open_output(port_name)
    try:
        time.sleep(0.3)  # JACK connects ports asynchronously
        spacing = 60 / (bpm * 24)
        start = time.monotonic()
        for pulse in range(pulses):
            time.sleep(max(0.0, start + pulse * spacing - time.monotonic()))  # on a fixed grid, no drift
            output.send(mido.Message("clock"))
        for message in then:
            output.send(message)
        time.sleep(0.3)  # let the last period reach the port before this client goes
    finally:
        output.close()


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


def test_clock_with_jitter_still_gives_the_tempo() -> None:
    """Pulses on a 1.33 ms driver grid: each interval is off by up to a period, the tempo is not."""
    state = TempoState()
    period = 64 / 48000
    spacing = 60 / (137.5 * 24)
    for pulse in range(30):
        state.clock_tick(100.0 + round(pulse * spacing / period) * period)
    assert abs(state.current.bpm - 137.5) < 0.2


def test_the_virtual_port_receives_clock_and_notes_over_jack(on_jack: str, tmp_path: Path) -> None:
    takes = [str(tmp_path / f"take_{i}.wav") for i in (1, 2, 3)]
    played, stops = [], []
    state = TempoState()
    control = MidiControl(state, takes=lambda: takes, play=played.append, stop=lambda: stops.append(1))
    port_name = control.open_virtual_port(api="jack")
    try:
        assert port_name == "Soundloom:Soundloom"
        listed = subprocess.run([JACK_LSP], capture_output=True, text=True).stdout.split("\n")
        assert port_name in listed
        notes = [mido.Message("note_on", note=62, velocity=90), mido.Message("note_on", note=62, velocity=0)]
        send_clock(port_name, 137.5, 60, then=[*notes, mido.Message("stop")])
    finally:
        control.stop()
    assert state.current.source == "midi-clock"
    assert abs(state.current.bpm - 137.5) < 1.5, state.current
    assert played == [takes[2]]  # note 62 is take 3; its note-off (velocity 0) plays nothing
    assert stops == [1]


def test_the_virtual_port_says_clearly_why_it_cannot_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"no-such-server-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    control = MidiControl(TempoState(), takes=list, play=print)
    with pytest.raises(BridgeError, match=r"virtual MIDI port \(jack: .*JACK server not running.*\)"):
        control.open_virtual_port(api="jack")
    with pytest.raises(BridgeError, match=r"unknown MIDI API 'coreaudio'"):
        control.open_virtual_port(api="coreaudio")


def test_serve_takes_its_tempo_from_midi_clock(on_jack: str, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """`soundloom serve --midi`: clock from a DAW sets the tempo that `bars` render at, to the sample."""
    bridge = start_bridge(tiny_checkpoint, tmp_path / "bridge", "--midi", "--midi-api", "jack")
    dump = OscDump()
    try:
        assert any("MIDI input: Soundloom:Soundloom" in line for line in bridge.log), bridge.log
        send_clock("Soundloom:Soundloom", 96.0, 60)
        oscsend(bridge.port, "/soundloom/tempo", "si", "reply_port", dump.port)
        reply = dump.wait_for("/soundloom/tempo")
        bpm, beats_per_bar, source = float(reply[2]), int(reply[3]), reply[4]
        assert source == "midi-clock" and abs(bpm - 96.0) < 1.5, reply
        oscsend(
            bridge.port, "/soundloom/generate", "sssfsisisi", "midi-bar", "pulse",
            "bars", 1.0, "steps", 1, "rate", 48000, "reply_port", dump.port,
        )  # fmt: skip
        path = Path(dump.wait_for("/soundloom/done", "midi-bar")[3])
        assert sf.info(path).frames == round(beats_per_bar * 60 / bpm * 48000)
    finally:
        dump.close()
        assert bridge.stop() == 0, "".join(bridge.log)
