"""Malformed and hostile input for the bridge: OSC packets, TCP streams and spool files, from a seed.

Shared by the bridge tests (test_bridge_osc.py) and the fuzz benchmark (benchmarks/bridge_fuzz.py).
"""

from __future__ import annotations

import json
import os
import random
import struct
from pathlib import Path

from pythonosc.osc_message_builder import OscMessageBuilder
from soundloom.host_bridge.osc_codec import encode, slip_encode


def fuzz_packets(count: int, seed: int) -> list[bytes]:
    """Malformed and hostile packets: random bytes, truncations and bit flips of valid messages, wrong
    types, huge strings, traversal paths, nested bundles, odd type tags."""
    rng = random.Random(seed)
    templates = [
        encode("/soundloom/generate", ["f", "rain", "steps", 1, "duration", 0.1]),
        encode("/soundloom/transfer", ["t", "/tmp/../../etc/passwd", "rain"]),
        encode("/soundloom/vary", ["v", "../../../../etc/shadow"]),
        encode("/soundloom/cancel", ["c"]),
        encode("/soundloom/status", []),
    ]
    hostile = ["../../../etc/passwd", "/etc/passwd", "~/.ssh/id_rsa", "\x00", "A" * 60000, "%s%n", "é" * 300]
    packets = []
    for _ in range(count):
        kind = rng.randrange(6)
        if kind == 0:
            packet = rng.randbytes(rng.randrange(0, 200))
        elif kind == 1:
            template = rng.choice(templates)
            packet = template[: rng.randrange(len(template))]
        elif kind == 2:
            packet = bytearray(rng.choice(templates))
            for _ in range(rng.randrange(1, 6)):
                packet[rng.randrange(len(packet))] ^= 1 << rng.randrange(8)
            packet = bytes(packet)
        elif kind == 3:
            builder = OscMessageBuilder(
                rng.choice(
                    [
                        "/soundloom/generate",
                        "/soundloom/inpaint",
                        "/soundloom/" + rng.choice(hostile)[:50],
                        "/x",
                    ]
                )
            )
            for _ in range(rng.randrange(0, 8)):
                builder.add_arg(
                    rng.choice(
                        [
                            rng.choice(hostile),
                            rng.randrange(-(2**31), 2**31),
                            rng.random() * 1e9,
                            b"\x00" * rng.randrange(50),
                            True,
                            None,
                            float("nan"),
                        ]
                    )
                )
            try:
                packet = builder.build().dgram
            except Exception:
                packet = b"/soundloom/" + rng.choice(hostile).encode()[:200] + b"\x00,s\x00\x00"
        elif kind == 4:
            body = rng.choice(templates)
            packet = (
                b"#bundle\x00"
                + rng.randbytes(8)
                + struct.pack(">i", rng.choice([len(body), len(body) + 1000, -4]))
                + body
            )
        else:
            packet = b"/soundloom/generate\x00,\x00\x00" + bytes(
                rng.choice(b"ifsbhdtTFN[]mrx") for _ in range(rng.randrange(1, 30))
            )
        packets.append(packet[:65000])
    return packets


def fuzz_stream(count: int, seed: int) -> bytes:
    """One TCP connection's bytes: `count` fuzz packets framed as SLIP (OSC 1.1), with bad escapes, stray
    END bytes and oversized frames mixed in."""
    rng = random.Random(seed)
    chunks = []
    for packet in fuzz_packets(count, seed):
        kind = rng.randrange(10)
        if kind == 0:
            chunks.append(b"\xc0" + packet[:200] + b"\xdb\x01\xc0")  # a bad SLIP escape
        elif kind == 1:
            chunks.append(b"\xc0" * rng.randrange(1, 4))  # empty frames
        else:
            chunks.append(slip_encode(packet))
    if rng.random() < 0.05:
        chunks.append(b"\xc0" + os.urandom(70_000) + b"\xc0")  # longer than a frame may be
    return b"\xc0" + b"".join(chunks)


def fuzz_spool_file(folder: Path, name: str, rng: random.Random) -> None:
    """Drop one malformed request into a spool requests folder, as anything on the machine could."""
    path = folder / f"{name}.json"
    kind = rng.randrange(12)
    if kind == 0:
        os.mkfifo(path)
    elif kind == 1:
        path.symlink_to(rng.choice(["/dev/zero", "/dev/urandom", "/nonexistent", "/etc/passwd"]))
    elif kind == 2:
        path.mkdir()
    elif kind == 3 and rng.random() < 0.05:  # a few huge (sparse) files
        path.write_bytes(b"[")
        os.truncate(path, rng.choice([2**20, 2**30]))
    else:
        text = rng.choice(
            [
                "[" * rng.randrange(100, 5000),
                json.dumps(["/soundloom/generate", name, "rain", "steps", rng.choice([None, [], {}, True])]),
                json.dumps([rng.randrange(10**6), "x"]),
                '["/soundloom/generate", "' + name + '", "\\ud800"]',
                '["/soundloom/ping", NaN]',
                json.dumps(["/soundloom/transfer", name, "../../etc/passwd", "rain"]),
                json.dumps("just a string"),
            ]
        ).encode()
        if kind == 4:
            text = rng.randbytes(rng.randrange(1, 2000))
        elif kind == 5:
            text = text[: rng.randrange(len(text) + 1)]
        temporary = folder / f".{name}.part"
        temporary.write_bytes(text)
        temporary.rename(path)
