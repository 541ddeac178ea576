"""`soundloom serve` (the bridge, headless), `soundloom send` (one request from a shell or script) and
`soundloom live` (one request about Ableton Live's selected clip, read through AbletonOSC)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..engine.default_model import resolve_model
from ..engine.errors import EngineError
from .bridge import RESTART_POLICIES
from .live import LIVE_PORT, LIVE_REPLY_PORT, AbletonOSC, clip_job, read_selected_clip, read_tempo
from .midi import MIDI_APIS
from .osc_transport import PacketError, StreamFrames, decode, encode, frame_packet
from .protocol import JOB_KINDS, OPTIONS, PREFIX
from .service import DEFAULT_PORT, BridgeService, ServiceSettings


def add_serve_parsers(commands: argparse._SubParsersAction, add_engine_options) -> None:
    serve = commands.add_parser("serve", help="run the OSC bridge for DAWs, headless")
    serve.add_argument(
        "--model",
        action="append",
        default=None,
        help="'default', a checkpoint folder, or a hub id; repeat it to serve several (the first loads "
        "at start; a request's `model` key picks another)",
    )
    serve.add_argument(
        "--osc-port", type=int, default=DEFAULT_PORT, help=f"UDP port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--tcp-port", type=int, default=None, help="OSC-over-TCP (SLIP) port; default: the UDP port"
    )
    serve.add_argument("--no-tcp", action="store_true", help="UDP only")
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on; anything but loopback exposes the bridge"
    )
    serve.add_argument(
        "--out", type=Path, default=None, help="where results are written (default: data folder)"
    )
    serve.add_argument(
        "--root", type=Path, action="append", default=[], help="a folder inputs may come from (repeatable)"
    )
    serve.add_argument(
        "--no-temp-root", action="store_true", help="do not accept inputs from the temp folder"
    )
    serve.add_argument(
        "--spool", type=Path, default=None, help="spool folder for Reaper (default: data folder)"
    )
    serve.add_argument("--journal", type=Path, default=None, help="job journal (default: data folder)")
    serve.add_argument("--queue-size", type=int, default=32, help="jobs waiting before `busy` (default 32)")
    serve.add_argument(
        "--on-restart", choices=RESTART_POLICIES, default="fail", help="unfinished jobs of a previous run"
    )
    serve.add_argument("--bpm", type=float, default=120.0, help="tempo until the DAW sends one")
    serve.add_argument("--midi", action="store_true", help="open a virtual MIDI port (clock, take audition)")
    serve.add_argument(
        "--midi-api",
        choices=MIDI_APIS,
        default="auto",
        help="auto (Linux: the ALSA sequencer, else a running JACK server), alsa, jack or system",
    )
    add_engine_options(serve)

    send = commands.add_parser("send", help="send one request to a running bridge")
    send.add_argument("kind", choices=[*JOB_KINDS, "cancel", "status", "ping", "presets", "models", "tempo"])
    send.add_argument(
        "values", nargs="*", help="generate PROMPT | transfer INPUT PROMPT | vary INPUT | cancel ID ..."
    )
    _add_client_options(send)

    live = commands.add_parser(
        "live",
        help="Ableton Live (AbletonOSC): generate at the song's tempo, or edit the selected Session clip",
    )
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
    for key, option in OPTIONS.items():
        if key != "reply_port":
            parser.add_argument(
                f"--{key.replace('_', '-')}", dest=f"opt_{key}", type=option.kind, help=option.help
            )


def run_serve(args: argparse.Namespace, load_model) -> int:
    settings = ServiceSettings(
        host=args.host,
        osc_port=args.osc_port,
        tcp_port=args.tcp_port,
        tcp=not args.no_tcp,
        roots=list(args.root),
        output=args.out,
        allow_temp=not args.no_temp_root,
        spool=args.spool,
        journal=args.journal,
        queue_size=args.queue_size,
        on_restart=args.on_restart,
        bpm=args.bpm,
    )
    names = list(dict.fromkeys(args.model or ["default"]))
    service = BridgeService(
        settings, lambda name: load_model(resolve_model(name), args), names[0], model_names=lambda: names
    )
    sys.stderr.write(f"loading {names[0]} ...\n")
    try:
        service.runner.model  # noqa: B018 - load now, so the first request does not wait for it
        leftovers = service.start()
    except EngineError:
        service.stop()
        raise
    midi = None
    if args.midi:
        from .midi import MidiControl

        midi = MidiControl(service.tempo, service.bridge.latest_takes)
        try:
            port_name = midi.open_virtual_port(api=args.midi_api)
        except EngineError:
            service.stop()
            raise
        sys.stderr.write(f"MIDI input: {port_name}\n")
    if leftovers:
        sys.stderr.write(f"{len(leftovers)} unfinished job(s) from the last run: {args.on_restart}\n")
    sys.stderr.write(f"soundloom bridge ready: {service.describe()}\n")
    sys.stderr.flush()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    sys.stderr.write("soundloom bridge stopping\n")
    if midi is not None:
        midi.stop()
    service.stop()
    return 0


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
                    raise EngineError("the bridge closed the connection")
                self.pending += self.frames.feed(chunk)
            packet = self.pending.pop(0)
            return decode(packet) if isinstance(packet, bytes) else []
        except TimeoutError:
            return []
        except ConnectionRefusedError:
            raise EngineError("no bridge is listening there (is `soundloom serve` running?)") from None
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
            raise EngineError(f"send {kind} takes {shape}")
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
        raise EngineError(f"live {kind} takes no prompt")
    if kind not in ("vary", "tempo") and not (prompt or "").strip():
        raise EngineError(f"live {kind} needs a prompt")
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
        raise EngineError(
            f"cannot reach the bridge at {args.host}:{args.port}: {error.strerror or error}"
        ) from None
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
        raise EngineError("no reply from the bridge within 5 s")
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
