"""MIDI in the bridge: a virtual port where MIDI clock sets the tempo and notes audition the latest takes.

Note `base_note + k` plays take k + 1 of the last finished job (C4 = 60 plays take 1, C#4 take 2, ...),
note-off or note 0 velocity is ignored, Stop silences. MIDI clock (24 pulses per beat) sets the tempo that
`bars`/`beats` lengths use. The port is opened through mido's python-rtmidi backend: on Linux through the
ALSA sequencer, or through a running JACK server where there is none (containers, JACK-based studios).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mido

from ..errors import BridgeError
from .tempo import TempoState

log = logging.getLogger(__name__)

BASE_NOTE = 60
PORT_NAME = "Soundloom"
CLIENT_NAME = "Soundloom"
MIDI_APIS = ("auto", "alsa", "jack", "system")
_RTMIDI_BACKENDS = {
    "alsa": "mido.backends.rtmidi/LINUX_ALSA",
    "jack": "mido.backends.rtmidi/UNIX_JACK",
    "system": "mido.backends.rtmidi",  # the platform's own: CoreMIDI, Windows MM, ALSA
}


def midi_apis_to_try(api: str) -> list[str]:
    """`auto` on Linux: the ALSA sequencer where the kernel has one, then JACK; elsewhere the system API."""
    if api != "auto":
        return [api]
    if sys.platform.startswith("linux"):
        return ["alsa", "jack"] if Path("/dev/snd/seq").exists() else ["jack"]
    return ["system"]


class Player:
    """Plays one WAV at a time through sounddevice (PortAudio); a new take stops the one before."""

    def __init__(self, device: str | int | None = None):
        self.device = device
        self._lock = threading.Lock()

    def play(self, path: str) -> None:
        import sounddevice  # PortAudio: loaded when a take plays, so a server without audio never needs it
        import soundfile

        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
        with self._lock:
            sounddevice.stop()
            sounddevice.play(audio, rate, device=self.device)

    def stop(self) -> None:
        import sounddevice

        with self._lock:
            sounddevice.stop()


class MidiControl:
    def __init__(
        self,
        tempo: TempoState,
        takes: Callable[[], list[str]],
        play: Callable[[str], None] | None = None,
        stop: Callable[[], None] | None = None,
        base_note: int = BASE_NOTE,
    ):
        player = Player() if play is None else None
        self.tempo, self.takes, self.base_note = tempo, takes, base_note
        self.play = play or player.play
        self.silence = stop or (player.stop if player else (lambda: None))
        self._port: Any = None

    def handle(self, message: Any) -> str | None:
        """React to one mido message; returns the take path it started, if any. Runs on rtmidi's thread:
        a take that cannot play (file gone, no PortAudio, no device) is logged, and the next note works."""
        try:
            return self._react(message)
        except Exception:
            log.exception("MIDI %s: could not react", getattr(message, "type", "message"))
            return None

    def _react(self, message: Any) -> str | None:
        if message.type == "clock":
            self.tempo.clock_tick()
        elif message.type == "stop":
            self.silence()
        elif message.type == "note_on" and message.velocity > 0:
            index = message.note - self.base_note
            takes = self.takes()
            if 0 <= index < len(takes):
                self.play(takes[index])
                return takes[index]
        return None

    def open_virtual_port(self, name: str = PORT_NAME, api: str = "auto") -> str:
        """Open the virtual input port; returns the full name other programs connect to."""
        if api not in MIDI_APIS:
            raise BridgeError(f"unknown MIDI API {api!r}; choose one of {', '.join(MIDI_APIS)}")
        reasons = []
        for candidate in midi_apis_to_try(api):
            backend = mido.Backend(_RTMIDI_BACKENDS[candidate], load=True)
            try:
                self._port = backend.open_input(
                    name, virtual=True, client_name=CLIENT_NAME, callback=self.handle
                )
            except Exception as error:  # rtmidi raises its own SystemError/RuntimeError kinds
                reasons.append(f"{candidate}: {str(error).splitlines()[0]}")
                continue
            return f"{CLIENT_NAME}:{name}"
        raise BridgeError(
            f"cannot open a virtual MIDI port ({'; '.join(reasons)}); on Linux the ALSA sequencer "
            "(/dev/snd/seq) or a running JACK server is needed; on Windows virtual ports need loopMIDI"
        )

    def stop(self) -> None:
        if self._port is not None:
            self._port.close()
