"""Audition through sounddevice: the callback copies frames out of the loaded take; the caller never waits.

No Qt here. Errors (a device that is gone, one that refuses the format) come back as PlayerError with
a sentence for the window; a stream the device drops mid-play ends and `error` says why.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

try:
    import sounddevice as sd
except OSError as missing:  # sounddevice raises OSError("PortAudio library not found") when importing
    sd = None
    PLAYBACK_OFF = f"playback is off: {missing} (Debian/Ubuntu: apt install libportaudio2)"
else:
    PLAYBACK_OFF = ""  # why audition cannot work on this machine; "" when it can


class PlayerError(Exception):
    pass


@dataclass(frozen=True)
class OutputDevice:
    index: int
    name: str


def output_devices() -> list[OutputDevice]:
    if sd is None:
        return []
    try:
        devices = sd.query_devices()
    except sd.PortAudioError:
        return []
    return [
        OutputDevice(index, str(device["name"]))
        for index, device in enumerate(devices)
        if device["max_output_channels"] > 0
    ]


NO_OUTPUT = (
    "no audio output: PortAudio finds no output device on this machine. Connect or enable one (a sound "
    "card, PulseAudio, PipeWire or JACK), then restart the app; takes are still made and dragged as usual"
)


def output_problem(device: int | None) -> str:
    """Why `device` (None: the system default) cannot play, in a person's words; "" when it can.
    Asked before a stream opens: PortAudio's own words for it are "Error querying device -1"."""
    if sd is None:
        return PLAYBACK_OFF
    try:
        if device is None:
            sd.query_devices(kind="output")  # PortAudioError when there is no default output
            return ""
        found = sd.query_devices(device)
    except (sd.PortAudioError, ValueError):
        if device is None or not output_devices():
            return NO_OUTPUT
        return f"the audio output chosen in Settings (device {device}) is gone; choose another there"
    if found["max_output_channels"] < 1:
        return f"{found['name']} has no outputs; choose another audio output in Settings"
    return ""


class Player:
    def __init__(self) -> None:
        self.device: int | None = None  # None: the system default
        self.loop = False
        self.error = ""  # why the last stream ended early, if it did
        self._audio = np.zeros((0, 1), np.float32)
        self._rate = 48_000
        self._position = 0
        self._stream: sd.OutputStream | None = None
        self._lock = threading.Lock()

    @property
    def playing(self) -> bool:
        stream = self._stream
        return stream is not None and stream.active

    @property
    def position_s(self) -> float:
        return self._position / self._rate

    def play(self, audio: np.ndarray, sample_rate: int, start_s: float = 0.0) -> None:
        """Start playing `audio` ((frames,) or (frames, channels)) from `start_s`; stops what was playing."""
        if sd is None:
            raise PlayerError(PLAYBACK_OFF)
        problem = output_problem(self.device)
        if problem:
            raise PlayerError(problem)
        self.stop()
        audio = np.ascontiguousarray(audio.reshape(len(audio), -1), np.float32)
        with self._lock:
            self._audio, self._rate = audio, sample_rate
            self._position = min(max(round(start_s * sample_rate), 0), len(audio))
        self.error = ""
        try:
            self._stream = sd.OutputStream(
                samplerate=sample_rate,
                channels=audio.shape[1],
                dtype="float32",
                device=self.device,
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as error:
            self._stream = None
            name = "the default output" if self.device is None else f"output device {self.device}"
            raise PlayerError(f"cannot play through {name}: {error}") from None

    def seek(self, seconds: float) -> None:
        with self._lock:
            self._position = min(max(round(seconds * self._rate), 0), len(self._audio))

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except sd.PortAudioError as error:  # the device went away under it: nothing left to stop
                self.error = f"the output device failed: {error}"

    def _callback(self, out: np.ndarray, frames: int, time_info: object, status: sd.CallbackFlags) -> None:
        with self._lock:
            written = 0
            while written < frames:
                chunk = self._audio[self._position : self._position + frames - written]
                out[written : written + len(chunk)] = chunk
                written += len(chunk)
                self._position += len(chunk)
                if self._position >= len(self._audio):
                    if not self.loop or len(self._audio) == 0:
                        break
                    self._position = 0
            out[written:] = 0
            if written < frames:
                raise sd.CallbackStop

    def _finished(self) -> None:
        # A stream we stopped is no longer self._stream; one that ends early on its own failed.
        if self._stream is not None and self._position < len(self._audio):
            self.error = "playback stopped early: the output device went away or failed"
