"""A stand-in for Ableton Live running AbletonOSC: the same addresses, answers and silences.

Like AbletonOSC it listens on one UDP port, answers each getter on the same address at the asker's host
but at a fixed reply port, echoes the track/clip ids before the value, sends booleans as OSC True/False,
and answers nothing when the getter fails inside Live (an empty slot has no clip to ask about).
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


@dataclass
class FakeLive:
    reply_port: int
    tempo: float = 120.0
    signature_numerator: int = 4
    selected: tuple[int, int] = (0, 0)  # (track, scene)
    clips: dict[tuple[int, int], FakeClip] = field(default_factory=dict)
    asked: list[tuple[str, list[Any]]] = field(default_factory=list)

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
            answer = self._answer(message.address, params)
            if answer is not None:
                builder = OscMessageBuilder(message.address)
                for value in answer:
                    builder.add_arg(value)
                self.sock.sendto(builder.build().dgram, (host, self.reply_port))

    def _answer(self, address: str, params: list[Any]) -> tuple | None:
        if address == "/live/song/get/tempo":
            return (self.tempo,)
        if address == "/live/song/get/signature_numerator":
            return (self.signature_numerator,)
        if address == "/live/view/get/selected_clip":
            return self.selected
        track, scene = params[:2]
        if address == "/live/clip_slot/get/has_clip":
            return (track, scene, (track, scene) in self.clips)
        prefix = "/live/clip/get/"
        clip = self.clips.get((track, scene))
        if clip is None or not address.startswith(prefix):
            return None  # Live raises inside AbletonOSC; it logs the error and answers nothing
        return (track, scene, getattr(clip, address.removeprefix(prefix)))
