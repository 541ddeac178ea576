"""Provenance inside WAV files, in the chunks DAWs and sound libraries read: BWF `bext` (description,
originator, date, loudness, coding history), RIFF `LIST/INFO` (title, comment, software, date) and
`iXML` whose USER field holds the full provenance as JSON, so `soundloom info` can read it back exactly.
"""

from __future__ import annotations

import json
import struct
from functools import partial
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

SOFTWARE = "Soundloom"
BEXT_FIXED_SIZE = 602  # EBU Tech 3285 v2: every field before CodingHistory
BEXT_DESCRIPTION = 256  # bext's Description field, ASCII
_REPLACED = {b"bext", b"LIST", b"iXML"}
MAX_METADATA_CHUNK = 16 * 2**20  # larger chunks are skipped when reading metadata from a file


def read_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (id, payload) chunks of a RIFF/WAVE file's bytes, in file order."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        chunk_id, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        chunks.append((chunk_id, data[offset + 8 : offset + 8 + size]))
        offset += 8 + size + (size & 1)  # chunks are padded to even sizes
    return chunks


def read_metadata(path: Path) -> bytes:
    """A RIFF/WAVE file's chunks with the audio left out (its `data` chunk empty), as bytes that
    `read_chunks`, `read_provenance` and `read_bext` take: a WAV of any size costs a few reads, never
    its audio in memory. ValueError when the file is not RIFF/WAVE."""
    chunks = []
    with open(path, "rb") as stream:
        header = stream.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            raise ValueError("not a RIFF/WAVE file")
        while len(head := stream.read(8)) == 8:
            chunk_id, size = head[:4], struct.unpack("<I", head[4:])[0]
            if chunk_id == b"data" or size > MAX_METADATA_CHUNK:
                stream.seek(size + (size & 1), 1)
                chunks.append((chunk_id, b""))
            else:
                chunks.append((chunk_id, stream.read(size)))
                stream.seek(size & 1, 1)
    body = b"".join(_chunk_bytes(chunk_id, payload) for chunk_id, payload in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def with_provenance(wav: bytes, provenance: dict[str, Any], summary: str, coding_history: str) -> bytes:
    """The WAV `wav` with bext (before fmt, as BWF readers expect), INFO and iXML chunks replaced/added.

    `provenance` must hold 'created' (ISO date-time) and may hold 'prompt', 'loudness_lufs' and
    'true_peak_dbtp' (written into bext's loudness fields).
    """
    chunks = [chunk for chunk in read_chunks(wav) if chunk[0] not in _REPLACED]
    info = _info_chunk(
        {
            b"INAM": provenance.get("prompt") or provenance.get("operation", ""),
            b"ICMT": summary,
            b"ISFT": f"{SOFTWARE} {provenance.get('soundloom', '')}".strip(),
            b"ICRD": provenance["created"][:10],
        }
    )
    ixml = _ixml_chunk(provenance, summary)
    ordered = [(b"bext", _bext_chunk(provenance, summary, coding_history)), *chunks, info, ixml]
    body = b"".join(_chunk_bytes(chunk_id, payload) for chunk_id, payload in ordered)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def read_provenance(wav: bytes) -> dict[str, Any] | None:
    """The provenance JSON from a file's iXML USER field; None when the file has none of ours."""
    for chunk_id, payload in read_chunks(wav):
        if chunk_id != b"iXML":
            continue
        try:
            root = ElementTree.fromstring(payload.rstrip(b"\x00"))
        except ElementTree.ParseError:
            return None
        user = root.findtext("USER")
        try:
            data = json.loads(user) if user else None
        except (ValueError, RecursionError):  # not JSON, an integer past Python's digit limit, too deep
            return None
        return data if isinstance(data, dict) else None
    return None


def read_bext(wav: bytes) -> dict[str, Any] | None:
    """The bext fields a library browser shows: description, originator, date, time, coding history."""
    for chunk_id, payload in read_chunks(wav):
        if chunk_id == b"bext" and len(payload) >= BEXT_FIXED_SIZE:
            text = partial(_field_text, payload)
            loudness = struct.unpack("<h", payload[412:414])[0]
            true_peak = struct.unpack("<h", payload[416:418])[0]
            return {
                "description": text(0, 256),
                "originator": text(256, 32),
                "originator_reference": text(288, 32),
                "date": text(320, 10),
                "time": text(330, 8),
                "version": struct.unpack("<H", payload[346:348])[0],
                "loudness_lufs": loudness / 100 if loudness != 0x7FFF else None,
                "true_peak_dbtp": true_peak / 100 if true_peak != 0x7FFF else None,
                "coding_history": payload[BEXT_FIXED_SIZE:].split(b"\x00")[0].decode("ascii", "replace"),
            }
    return None


def _field_text(payload: bytes, start: int, size: int) -> str:
    return payload[start : start + size].split(b"\x00")[0].decode("ascii", "replace")


def _ascii(text: str, size: int) -> bytes:
    return text.encode("ascii", "replace")[:size].ljust(size, b"\x00")


def _centi(value: Any) -> int:
    """bext v2 stores loudness as int16 hundredths; 0x7FFF means 'not measured'."""
    if not isinstance(value, (int, float)) or value != value or abs(value) > 300:
        return 0x7FFF
    return round(value * 100)


def _bext_chunk(provenance: dict[str, Any], summary: str, coding_history: str) -> bytes:
    created = provenance["created"]  # 2026-11-25T14:03:07
    fields = [
        _ascii(summary, BEXT_DESCRIPTION),
        _ascii(SOFTWARE, 32),
        _ascii(f"seed {provenance.get('seed', '')}".strip(), 32),
        _ascii(created[:10], 10),
        _ascii(created[11:19], 8),
        struct.pack("<Q", 0),  # time reference: samples since midnight, not meaningful for a generated take
        struct.pack("<H", 2),  # version 2: carries the loudness fields
        bytes(64),  # UMID: none
        # loudness, loudness range, max true peak, max momentary, max short-term; 0x7FFF: not measured
        struct.pack(
            "<hhhhh",
            _centi(provenance.get("loudness_lufs")),
            0x7FFF,
            _centi(provenance.get("true_peak_dbtp")),
            0x7FFF,
            0x7FFF,
        ),
        bytes(180),
    ]
    fixed = b"".join(fields)
    assert len(fixed) == BEXT_FIXED_SIZE
    return fixed + coding_history.encode("ascii", "replace") + b"\r\n\x00"


def _info_chunk(entries: dict[bytes, str]) -> tuple[bytes, bytes]:
    body = b"INFO"
    for key, value in entries.items():
        if value:
            body += _chunk_bytes(key, value.encode("utf-8") + b"\x00")
    return b"LIST", body


def _ixml_chunk(provenance: dict[str, Any], summary: str) -> tuple[bytes, bytes]:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<BWFXML>'
        "<IXML_VERSION>2.10</IXML_VERSION>"
        f"<PROJECT>{SOFTWARE}</PROJECT>"
        f"<NOTE>{escape(summary)}</NOTE>"
        f"<USER>{escape(json.dumps(provenance, ensure_ascii=False, sort_keys=True))}</USER>"
        "</BWFXML>"
    )
    return b"iXML", xml.encode("utf-8")


def _chunk_bytes(chunk_id: bytes, payload: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
