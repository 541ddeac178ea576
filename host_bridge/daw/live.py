"""Ableton Live through AbletonOSC: read the song tempo and the selected clip, and turn them into a job.

AbletonOSC (github.com/ideoforms/AbletonOSC, a MIDI Remote Script) listens on UDP 11000 and answers every
getter on the same address at the asker's host, always at port 11001 (`OSC_RESPONSE_PORT` in its
`abletonosc/constants.py`; the asker's own port is ignored). A getter that fails inside Live (an empty
slot, a return or master track selected) raises in its handler; current AbletonOSC logs that at ERROR
level and its log handler forwards the text as `/live/error "Error handling OSC message: ..."` to the
same reply address (`manager.py`, `LiveOSCErrorLogHandler`), so it is reported at once with Live's own
words. Older AbletonOSC versions answer nothing, so every question also has a timeout and a message that
says what was asked. Clip times come from the Live Object Model: `loop_start`/`loop_end` are the loop
brace (the start and end markers when looping is off), in seconds for an unwarped audio clip and in beats
for a warped one. Beats map to the file's seconds only through warp markers, which AbletonOSC does not
expose, so a warped clip is refused with what to do instead.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

import soundfile

from ...engine.limits import MAX_DURATION_S
from ..errors import BridgeError
from ..osc_codec import PacketError, decode, encode
from .tempo import Tempo

LIVE_PORT = 11000
LIVE_REPLY_PORT = 11001  # fixed in AbletonOSC: it always answers here
LIVE_ERROR = "/live/error"


class LiveRefused(BridgeError):
    """Live raised an error answering a question (AbletonOSC's `/live/error`)."""


@dataclass(frozen=True)
class LiveClip:
    """The selected Session clip: its file and its loop brace in seconds of that file."""

    track: int
    scene: int
    name: str
    file_path: str
    brace_start_s: float
    brace_end_s: float
    file_duration_s: float


class AbletonOSC:
    """Questions to AbletonOSC over UDP; each waits for the answer on the same address."""

    def __init__(self, host: str, port: int, reply_port: int, timeout: float = 2.0):
        self.target, self.timeout = (host, port), timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # A Live on another machine answers to this machine's address, so only loopback may stay private.
        on_loopback = host in ("127.0.0.1", "localhost")
        try:
            self.sock.bind(("127.0.0.1" if on_loopback else "0.0.0.0", reply_port))
        except OSError as error:
            self.sock.close()
            raise BridgeError(
                f"cannot listen for Live's answers on UDP {reply_port} ({error.strerror or error}): another "
                "program holds it, most likely another AbletonOSC client. AbletonOSC answers only on "
                f"{LIVE_REPLY_PORT}, so close that program and ask again"
            ) from None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> AbletonOSC:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ask(self, address: str, *ids: int) -> list[Any]:
        """Send `address ids...` and return the answer's values, without the ids AbletonOSC echoes first."""
        self.sock.sendto(encode(address, list(ids)), self.target)
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                packet = self.sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionRefusedError:  # an ICMP "port unreachable" from an earlier send
                continue
            try:
                messages = decode(packet)
            except PacketError:
                continue
            for reply_address, values in messages:
                if reply_address == LIVE_ERROR:
                    text = " ".join(str(value) for value in values) or "(no text)"
                    raise LiveRefused(f"Live refused {address}: {text}")
                if reply_address != address:
                    continue  # a listener's update, or a late answer to an earlier question
                echoed = len(ids) if values[: len(ids)] == list(ids) and len(values) > len(ids) else 0
                return values[echoed:]
        raise BridgeError(
            f"Live did not answer {address} within {self.timeout:g} s. Is Live running with AbletonOSC "
            "chosen as a Control Surface (Settings > Link, Tempo & MIDI), listening on "
            f"{self.target[0]}:{self.target[1]}?"
        )

    def value(self, address: str, *ids: int) -> Any:
        values = self.ask(address, *ids)
        if not values:
            raise BridgeError(f"Live answered {address} without a value")
        return values[-1]


def read_tempo(live: AbletonOSC) -> Tempo:
    """Live's song tempo (quarter notes a minute, as the Live Object Model counts it) and signature."""
    bpm = float(live.value("/live/song/get/tempo"))
    beats_per_bar = int(live.value("/live/song/get/signature_numerator"))
    beat_unit = int(live.value("/live/song/get/signature_denominator"))
    return Tempo(bpm, beats_per_bar, "live", beat_unit)


def read_selected_clip(live: AbletonOSC) -> LiveClip:
    """The clip in the selected Session slot, checked to be an unwarped audio clip with a readable file."""
    try:
        selected = live.ask("/live/view/get/selected_clip")
    except LiveRefused as refused:  # a return or the master track is selected: it has no clip slots
        raise LiveRefused(f"{refused}. Select a clip slot on an audio track in Session view") from None
    if len(selected) < 2:
        raise BridgeError("Live answered /live/view/get/selected_clip without a track and scene")
    track, scene = int(selected[0]), int(selected[1])
    where = f"track {track + 1}, scene {scene + 1}"
    if not live.value("/live/clip_slot/get/has_clip", track, scene):
        raise BridgeError(f"the selected Session slot ({where}) is empty; select an audio clip there")
    if not live.value("/live/clip/get/is_audio_clip", track, scene):
        raise BridgeError(f"the selected clip ({where}) is a MIDI clip; Soundloom edits audio clips")
    name = str(live.value("/live/clip/get/name", track, scene))
    if live.value("/live/clip/get/warping", track, scene):
        raise BridgeError(
            f"clip {name!r} ({where}) is warped: AbletonOSC gives its region in beats with no way to map "
            "them to the file's seconds. Turn Warp off for the clip (Clip View > Audio) and ask again"
        )
    file_path = str(live.value("/live/clip/get/file_path", track, scene))
    try:
        file_duration_s = soundfile.info(file_path).duration
    except (OSError, RuntimeError) as error:
        raise BridgeError(f"clip {name!r} ({where}): cannot read its file {file_path}: {error}") from None
    start_s = float(live.value("/live/clip/get/loop_start", track, scene))
    end_s = float(live.value("/live/clip/get/loop_end", track, scene))
    start_s, end_s = max(start_s, 0.0), min(end_s, file_duration_s)
    if end_s <= start_s:
        raise BridgeError(
            f"clip {name!r} ({where}): its region {start_s:.3f}-{end_s:.3f} s lies outside its "
            f"{file_duration_s:.3f} s file"
        )
    return LiveClip(track, scene, name, file_path, start_s, end_s, file_duration_s)


def clip_job(kind: str, clip: LiveClip, options: dict[str, Any]) -> dict[str, Any]:
    """The region options of an edit `kind` on `clip`, given the user's own `options`.

    transfer, vary and extend work on the loop brace. inpaint regenerates the brace itself inside the
    whole file, so the result lines up with the original sample and can replace it in place (drop it on
    the clip's Sample box: the markers stay); with `start`/`end` (seconds into the brace) it regenerates
    part of the brace instead and returns the brace.
    """
    brace = {"in_offset": clip.brace_start_s, "in_length": clip.brace_end_s - clip.brace_start_s}
    if kind != "inpaint" or {"start", "end"} & options.keys():
        return brace
    if clip.file_duration_s > MAX_DURATION_S:
        raise BridgeError(
            f"clip {clip.name!r}: its file is {clip.file_duration_s:.1f} s; inpainting the loop brace reads "
            f"the whole file (at most {MAX_DURATION_S:g} s). Give --start and --end (seconds into the brace)"
        )
    return {
        "in_offset": 0.0,
        "in_length": clip.file_duration_s,
        "start": clip.brace_start_s,
        "end": clip.brace_end_s,
    }
