"""`soundloom send` (one request to a running bridge, from a shell or a script) and `soundloom live`
(one request about Ableton Live's selected clip or tempo, read through AbletonOSC)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ..daw.live import LIVE_PORT, LIVE_REPLY_PORT, AbletonOSC, clip_job, read_selected_clip, read_tempo
from ..errors import BridgeError
from ..osc.protocol import JOB_KINDS, OPTIONS, PREFIX, TOKEN
from ..osc.service import DEFAULT_PORT
from ..osc_codec import PacketError, StreamFrames, decode, encode, frame_packet
from .options import read_token


def register(commands: argparse._SubParsersAction) -> None:
    send = commands.add_parser("send", help="send one request to a running bridge")
    send.set_defaults(run=run_send)
    send.add_argument("kind", choices=[*JOB_KINDS, "cancel", "status", "ping", "presets", "models", "tempo"])
    send.add_argument(
        "values", nargs="*", help="generate PROMPT | transfer INPUT PROMPT | vary INPUT | cancel ID ..."
    )
    _add_client_options(send)

    live = commands.add_parser(
        "live",
        help="Ableton Live (AbletonOSC): generate at the song's tempo, or edit the selected Session clip",
    )
    live.set_defaults(run=run_live)
    live.add_argument("kind", choices=[*JOB_KINDS, "tempo"], help="tempo: set the bridge's tempo from Live's")
    live.add_argument("prompt", nargs="?", default=None, help="the prompt (all but vary and tempo)")
    live.add_argument("--live-host", default="127.0.0.1", help="where Live runs (default 127.0.0.1)")
    live.add_argument("--live-port", type=int, default=LIVE_PORT, help=f"AbletonOSC's port ({LIVE_PORT})")
    live.add_argument(
        "--live-reply-port",
        type=int,
        default=LIVE_REPLY_PORT,
        help=f"where to listen for Live's answers. AbletonOSC always answers on {LIVE_REPLY_PORT}; "
        "another port only works with an AbletonOSC changed to answer there (a test double does)",
    )
    live.add_argument("--live-timeout", type=float, default=2.0, help="seconds to wait for each answer")
    _add_client_options(live)


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="the bridge's host")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the bridge's port")
    parser.add_argument("--tcp", action="store_true", help="OSC over TCP (SLIP) instead of UDP")
    parser.add_argument("--id", default=None, help="request id (default: a random one)")
    parser.add_argument("--wait", action="store_true", help="wait for the result; print progress and paths")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait (default 900)")
    parser.add_argument(
        "--token-file", type=Path, default=None, help="the bridge's shared secret (its serve --token-file)"
    )
    for key, option in OPTIONS.items():
        if key not in ("reply_port", TOKEN):
            parser.add_argument(
                f"--{key.replace('_', '-')}",
                dest=f"opt_{key}",
                metavar=key.upper(),  # what the option is, not its internal dest (OPT_DURATION)
                type=option.kind,
                help=option.help,
            )


class Connection:
    """One client socket (UDP, or TCP with SLIP) that sends messages and yields replies."""

    def __init__(self, host: str, port: int, tcp: bool):
        self.tcp = tcp
        if tcp:
            self.sock = socket.create_connection((host, port), timeout=5)
            self.frames, self.pending = StreamFrames(), []
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.connect((host, port))

    def send(self, address: str, args: list[Any]) -> None:
        packet = encode(address, args)
        self.sock.sendall(frame_packet(packet, slip=True)) if self.tcp else self.sock.send(packet)

    def receive(self, timeout: float) -> list[tuple[str, list[Any]]]:
        self.sock.settimeout(max(timeout, 0.01))
        try:
            if not self.tcp:
                return decode(self.sock.recv(65536))
            while not self.pending:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise BridgeError("the bridge closed the connection")
                self.pending += self.frames.feed(chunk)
            packet = self.pending.pop(0)
            return decode(packet) if isinstance(packet, bytes) else []
        except TimeoutError:
            return []
        except ConnectionRefusedError:
            raise BridgeError("no bridge is listening there (is `soundloom serve` running?)") from None
        except PacketError:
            return []


def run_send(args: argparse.Namespace) -> int:
    kind, values = args.kind, list(args.values)
    request_id = args.id or f"cli-{uuid.uuid4().hex[:12]}"
    message_args: list[Any] = []
    if kind in JOB_KINDS:
        wanted = {"generate": 1, "vary": 1}.get(kind, 2)
        if len(values) != wanted:
            shape = {"generate": "PROMPT", "vary": "INPUT"}.get(kind, "INPUT PROMPT")
            raise BridgeError(f"send {kind} takes {shape}")
        if kind != "generate":
            values[0] = os.path.abspath(values[0])
        message_args = [request_id, *values, *_pairs(_job_options(args))]
    elif kind == "tempo":
        message_args = [float(values[0]), *map(int, values[1:3])] if values else []
    else:
        message_args = values
    return _send(args, kind, message_args, request_id)


def run_live(args: argparse.Namespace) -> int:
    kind, prompt = args.kind, args.prompt
    if kind in ("vary", "tempo") and prompt is not None:
        raise BridgeError(f"live {kind} takes no prompt")
    if kind not in ("vary", "tempo") and not (prompt or "").strip():
        raise BridgeError(f"live {kind} needs a prompt")
    options = _job_options(args)
    with AbletonOSC(args.live_host, args.live_port, args.live_reply_port, args.live_timeout) as live:
        tempo = read_tempo(live)
        clip = read_selected_clip(live) if kind not in ("generate", "tempo") else None
    sys.stderr.write(f"Live: {tempo.bpm:g} BPM, {tempo.signature()}\n")
    if kind == "tempo":
        return _send(args, kind, [tempo.bpm, tempo.beats_per_bar, tempo.beat_unit], "")
    request_id = args.id or f"live-{uuid.uuid4().hex[:12]}"
    if kind == "generate":
        signature = {"beats_per_bar": tempo.beats_per_bar, "beat_unit": tempo.beat_unit}
        options = {"bpm": tempo.bpm, **signature} | options
        return _send(args, kind, [request_id, prompt, *_pairs(options)], request_id)
    if kind == "extend" and ("bars" in options or "beats" in options):  # "one more bar", at Live's tempo
        options["seconds"] = tempo.seconds(options.pop("bars", 0.0), options.pop("beats", 0.0))
    options |= clip_job(kind, clip, options)
    sys.stderr.write(
        f"Live: clip {clip.name!r} (track {clip.track + 1}, scene {clip.scene + 1}): "
        f"{options['in_offset']:.3f} s + {options['in_length']:.3f} s of {clip.file_path}\n"
    )
    positional = [clip.file_path] if kind == "vary" else [clip.file_path, prompt]
    return _send(args, kind, [request_id, *positional, *_pairs(options)], request_id)


def _job_options(args: argparse.Namespace) -> dict[str, Any]:
    return {key: value for key in OPTIONS if (value := getattr(args, f"opt_{key}", None)) is not None}


def _pairs(options: dict[str, Any]) -> list[Any]:
    return [item for pair in options.items() for item in pair]


def _send(args: argparse.Namespace, kind: str, message_args: list[Any], request_id: str) -> int:
    try:
        connection = Connection(args.host, args.port, args.tcp)
    except OSError as error:
        raise BridgeError(
            f"cannot reach the bridge at {args.host}:{args.port}: {error.strerror or error}"
        ) from None
    if args.token_file is not None:
        message_args = [*message_args, TOKEN, read_token(args.token_file)]
    connection.send(PREFIX + kind, message_args)
    if kind not in JOB_KINDS:
        return _print_replies(connection, kind)
    return _follow_job(connection, request_id, args.wait, args.timeout)


def _print_replies(connection: Connection, kind: str) -> int:
    deadline, got = time.monotonic() + 5.0, 0
    quiet_after = 0.3  # presets answers with two messages; wait a moment for more once one arrives
    while (left := deadline - time.monotonic()) > 0:
        replies = connection.receive(min(left, quiet_after) if got else left)
        if not replies and got:
            break
        for address, reply_args in replies:
            if address == PREFIX + "error":
                print(f"soundloom: error: {reply_args[1]}: {reply_args[2]}", file=sys.stderr)
                return 1
            print(" ".join(map(str, reply_args)))
            got += 1
        if kind == "cancel" and not got:
            continue
    if not got and kind != "cancel":
        raise BridgeError("no reply from the bridge within 5 s")
    return 0


def _follow_job(connection: Connection, request_id: str, wait: bool, timeout: float) -> int:
    deadline = time.monotonic() + (timeout if wait else 10.0)
    try:
        while (left := deadline - time.monotonic()) > 0:
            for address, reply_args in connection.receive(min(left, 1.0)):
                if not reply_args or reply_args[0] != request_id:
                    continue
                name = address.removeprefix(PREFIX)
                if name == "error":
                    print(f"soundloom: error: {reply_args[1]}: {reply_args[2]}", file=sys.stderr)
                    return 1
                if name == "accepted":
                    sys.stderr.write(f"accepted {request_id} ({reply_args[1]} ahead)\n")
                    if not wait:
                        print(request_id)
                        return 0
                elif name == "progress":
                    sys.stderr.write(f"\rprogress {float(reply_args[1]) * 100:5.1f}% step {reply_args[2]}")
                elif name == "warning":
                    sys.stderr.write(f"\nwarning: {reply_args[1]}: {reply_args[2]}")
                elif name == "result":
                    path, duration, rate, seed = reply_args[1:5]
                    sys.stderr.write(f"\n{path}: {duration:.3f} s at {rate} Hz, seed {seed}")
                elif name == "done":
                    sys.stderr.write("\n")
                    for path in reply_args[1:]:
                        print(path)
                    return 0
    except KeyboardInterrupt:
        connection.send(PREFIX + "cancel", [request_id])
        print("soundloom: interrupted; cancel sent", file=sys.stderr)
        return 130
    print(
        f"soundloom: error: no {'result' if wait else 'reply'} within {timeout if wait else 10:g} s",
        file=sys.stderr,
    )
    return 3
