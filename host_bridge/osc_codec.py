"""OSC's wire format: messages and bundles to and from bytes, and the two ways a stream frames them.

Shared by the bridge's transports (`osc/transport.py`) and the Live client (`daw/live.py`); nothing here
opens a socket or knows what a message means.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

# python-osc logs "Unhandled parameter type" on the root logger for every unknown type tag: a flood of
# bad packets would flood the log, so tags are checked here first and such packets refused quietly.
logging.getLogger("pythonosc").setLevel(logging.ERROR)
TYPE_TAGS = frozenset("ihfdsbrmtTFN[]")  # what python-osc's OscMessage decodes

MAX_TCP_FRAME = 64 * 1024  # one OSC message; paths and prompts fit many times over
MAX_MESSAGES_PER_PACKET = 64  # bundles beyond this are refused whole
MAX_BUNDLE_DEPTH = 4
BUNDLE_TAG = b"#bundle\x00"
SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD


class PacketError(ValueError):
    pass


def encode(address: str, args: list[Any]) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def decode(packet: bytes) -> list[tuple[str, list[Any]]]:
    """The messages in one packet (a message or a bundle of them); PacketError when it is not OSC."""
    found: list[tuple[str, list[Any]]] = []
    _decode_into(packet, found, depth=0)
    return found


def _decode_into(packet: bytes, found: list[tuple[str, list[Any]]], depth: int) -> None:
    if packet.startswith(BUNDLE_TAG):
        # Walked here rather than by python-osc's OscBundle, which loops forever on a zero or negative
        # element size.
        if depth >= MAX_BUNDLE_DEPTH:
            raise PacketError(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
        index = len(BUNDLE_TAG) + 8  # the tag, then a 64-bit time tag (ignored: requests run on arrival)
        if len(packet) < index:
            raise PacketError("truncated bundle header")
        while index < len(packet):
            if index + 4 > len(packet):
                raise PacketError("truncated bundle element size")
            (size,) = struct.unpack(">i", packet[index : index + 4])
            if size <= 0 or size % 4 or index + 4 + size > len(packet):
                raise PacketError(f"bad bundle element size {size}")
            _decode_into(packet[index + 4 : index + 4 + size], found, depth + 1)
            index += 4 + size
        return
    if not packet.startswith(b"/") or len(packet) % 4:
        raise PacketError("not an OSC message or bundle")
    _check_type_tags(packet)
    try:
        message = OscMessage(packet)
        found.append((message.address, list(message.params)))
    except Exception as error:
        raise PacketError(f"malformed OSC message ({type(error).__name__})") from None
    if len(found) > MAX_MESSAGES_PER_PACKET:
        raise PacketError(f"more than {MAX_MESSAGES_PER_PACKET} messages in one packet")


def _check_type_tags(packet: bytes) -> None:
    """Refuse a message whose type tag string holds a tag python-osc cannot decode."""
    address_end = packet.find(b"\x00")
    tags_start = (address_end // 4 + 1) * 4  # the address is NUL-terminated and padded to 4 bytes
    if address_end < 0 or packet[tags_start : tags_start + 1] != b",":
        return  # no type tags: python-osc decides
    tags_end = packet.find(b"\x00", tags_start)
    tags = packet[tags_start + 1 : tags_end if tags_end >= 0 else len(packet)].decode("latin-1")
    unknown = set(tags) - TYPE_TAGS
    if unknown:
        raise PacketError(f"unsupported OSC type tag {sorted(unknown)[0]!r}")


def frame_packet(packet: bytes, slip: bool) -> bytes:
    """A packet framed for a stream: SLIP (OSC 1.1) or a 4-byte big-endian length prefix (OSC 1.0)."""
    return slip_encode(packet) if slip else struct.pack(">I", len(packet)) + packet


class StreamFrames:
    """Splits a TCP byte stream into packets. The first byte decides the framing for the connection:
    SLIP starts with END (0xC0); a length prefix below 16 MiB starts with 0x00."""

    def __init__(self):
        self.buffer = bytearray()
        self.slip: bool | None = None
        self.discarding = False  # inside an oversized SLIP frame, until its END

    @property
    def pending(self) -> bool:
        """True while a frame has begun and not ended."""
        return bool(self.buffer) or self.discarding

    def feed(self, chunk: bytes) -> list[bytes | PacketError]:
        """The complete packets so far (a PacketError in place of a frame that does not decode); raises
        PacketError when the stream cannot be followed any more."""
        self.buffer += chunk
        if self.slip is None and self.buffer:
            self.slip = self.buffer[0] == SLIP_END
        packets: list[bytes | PacketError] = []
        if self.slip:
            while (end := self.buffer.find(SLIP_END)) >= 0:
                frame = bytes(self.buffer[:end])
                del self.buffer[: end + 1]
                if frame and not self.discarding:
                    try:
                        packets.append(slip_decode(frame))
                    except PacketError as error:
                        packets.append(error)
                self.discarding = False
            if len(self.buffer) > MAX_TCP_FRAME:
                self.buffer.clear()
                self.discarding = True
                raise PacketError(f"a frame longer than {MAX_TCP_FRAME} bytes")
            return packets
        while len(self.buffer) >= 4:
            (size,) = struct.unpack(">I", self.buffer[:4])
            if size > MAX_TCP_FRAME:
                raise PacketError(f"a frame of {size} bytes; the limit is {MAX_TCP_FRAME}")
            if len(self.buffer) < 4 + size:
                break
            packets.append(bytes(self.buffer[4 : 4 + size]))
            del self.buffer[: 4 + size]
        return packets


def slip_encode(packet: bytes) -> bytes:
    escaped = packet.replace(bytes([SLIP_ESC]), bytes([SLIP_ESC, SLIP_ESC_ESC]))
    escaped = escaped.replace(bytes([SLIP_END]), bytes([SLIP_ESC, SLIP_ESC_END]))
    return bytes([SLIP_END]) + escaped + bytes([SLIP_END])


def slip_decode(frame: bytes) -> bytes:
    out, escaping = bytearray(), False
    for byte in frame:
        if escaping:
            if byte not in (SLIP_ESC_END, SLIP_ESC_ESC):
                raise PacketError("bad SLIP escape")
            out.append(SLIP_END if byte == SLIP_ESC_END else SLIP_ESC)
            escaping = False
        elif byte == SLIP_ESC:
            escaping = True
        else:
            out.append(byte)
    if escaping:
        raise PacketError("SLIP frame ends inside an escape")
    return bytes(out)
