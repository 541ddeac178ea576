"""A stand-in for Ableton Live running AbletonOSC, written from AbletonOSC's source (ideoforms/AbletonOSC).

What each behaviour rests on:
- `abletonosc/osc_server.py`, `process()`: one UDP socket; every answer goes to the asker's host at
  `OSC_RESPONSE_PORT` (`abletonosc/constants.py`: 11001), never to the asker's own port. `reply_port` here
  stands for that constant so that tests need not own 11001.
- `abletonosc/clip.py`, `create_clip_callback`: clip getters answer `(track, clip, value)`; the clip is
  `track.clip_slots[clip].clip`, which is None for an empty slot, so `getattr(None, prop)` raises.
- `abletonosc/view.py`, `get_selected_track`: `list(song.tracks).index(song.view.selected_track)`; a return
  or the master track is not in `song.tracks`, so that raises ValueError "... is not in list".
- `osc_server.py`, `process()`: an exception in a handler is logged as
  `"AbletonOSC: Error handling OSC message: <error>"` at ERROR level; `manager.py`'s `LiveOSCErrorLogHandler`
  strips the text up to the first ": " and sends `/live/error (text,)` to the same reply address.
  An unknown address is logged as `"AbletonOSC: Unknown OSC address: <address>"` and relayed the same way.
  `relays_errors=False` is an AbletonOSC from before that log handler: a failing getter answers nothing.
- Booleans go out as OSC True/False (python-osc's builder), as AbletonOSC's vendored python-osc does.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder


@dataclass
class FakeClip:
    name: str
    file_path: str
    loop_start: float
    loop_end: float
    is_audio_clip: bool = True
    warping: bool = False


class UnknownAddress(Exception):
    """No handler is registered for the address."""


@dataclass
class FakeLive:
    reply_port: int
    tempo: float = 120.0
    signature_numerator: int = 4
    signature_denominator: int = 4
    selected: tuple[int, int] = (0, 0)  # (track, scene)
    selected_is_return_track: bool = False  # a return or the master track is selected
    relays_errors: bool = True
    clips: dict[tuple[int, int], FakeClip] = field(default_factory=dict)
    asked: list[tuple[str, list[Any]]] = field(default_factory=list)
    track_count: int = 8

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                packet, (host, _) = self.sock.recvfrom(65536)
            except OSError:
                return
            message = OscMessage(packet)
            params = list(message.params)
            self.asked.append((message.address, params))
            try:
                answer = self._answer(message.address, params)
            except UnknownAddress:
                self._relay_error(f"Unknown OSC address: {message.address}", host)
            except (AttributeError, ValueError, IndexError) as error:
                self._relay_error(f"Error handling OSC message: {error}", host)
            else:
                if answer is not None:
                    self._send(message.address, answer, host)

    def _relay_error(self, text: str, host: str) -> None:
        if self.relays_errors:
            self._send("/live/error", (text,), host)

    def _send(self, address: str, values: tuple, host: str) -> None:
        builder = OscMessageBuilder(address)
        for value in values:
            builder.add_arg(value)
        self.sock.sendto(builder.build().dgram, (host, self.reply_port))

    def _answer(self, address: str, params: list[Any]) -> tuple | None:
        song = {
            "/live/song/get/tempo": self.tempo,
            "/live/song/get/signature_numerator": self.signature_numerator,
            "/live/song/get/signature_denominator": self.signature_denominator,
        }
        if address in song:
            return (song[address],)
        if address == "/live/view/get/selected_clip":
            if self.selected_is_return_track:
                raise ValueError("<Track.Track object at 0x000001E2F1C0A3B0> is not in list")
            return self.selected
        if address == "/live/clip_slot/get/has_clip":
            track, scene = self._indices(params)
            return (track, scene, (track, scene) in self.clips)
        prefix = "/live/clip/get/"
        if address.startswith(prefix) and address.removeprefix(prefix) in FakeClip.__dataclass_fields__:
            track, scene = self._indices(params)
            clip = self.clips.get((track, scene))  # None: the slot is empty
            return (track, scene, getattr(clip, address.removeprefix(prefix)))
        raise UnknownAddress(address)

    def _indices(self, params: list[Any]) -> tuple[int, int]:
        track, scene = int(params[0]), int(params[1])  # AbletonOSC casts: TouchOSC sends floats
        if not 0 <= track < self.track_count:
            raise IndexError("tuple index out of range")
        return track, scene
