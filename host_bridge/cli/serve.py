"""`soundloom serve`: the OSC bridge for DAWs, headless (UDP, TCP, the spool folder, MIDI)."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from ..cluster.engine_pool import EnginePool
from ..daw.midi import MIDI_APIS, MidiControl
from ..errors import BridgeError
from ..logs import setup_logging
from ..osc.job import JobDone, JobEvent, JobFailed
from ..osc.recovery import RESTART_POLICIES
from ..osc.service import DEFAULT_PORT, BridgeService, ServiceSettings
from .options import (
    add_cluster_options,
    add_engine_options,
    engine_loader,
    join_cluster,
    read_token,
    say_loading,
    tell_licence,
)


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the OSC bridge for DAWs, headless")
    serve.set_defaults(run=run_serve)
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
    serve.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="a file holding the shared secret every UDP/TCP request must carry as `token SECRET`",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="listen beyond loopback without --token-file (anyone may render)",
    )
    serve.add_argument(
        "--verbose", action="store_true", help="also print the log (data folder's soundloom.log) on stderr"
    )
    add_engine_options(serve)
    add_cluster_options(serve, "render the bridge's jobs")


def say_job_end(event: JobEvent) -> None:
    """One line on stderr per finished job: what a person watching `serve` wants to see."""
    line = job_end_line(event)
    if line is not None:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {line}\n")


def job_end_line(event: JobEvent) -> str | None:
    if isinstance(event, JobDone):
        job, files = event.job, event.results
        warned = sum(len(take.warnings) for take in files)
        warnings = f", {warned} warning(s)" if warned else ""
        first = files[0].path if files else ""
        more = f" (+{len(files) - 1} more)" if len(files) > 1 else ""
        return f"{job.request_id} {job.command.kind} done: {first}{more}{warnings}"
    if isinstance(event, JobFailed):
        return f"{event.job.request_id} {event.job.command.kind} {event.state}: {event.message}"
    return None


def run_serve(args: argparse.Namespace) -> int:
    sys.stderr.write(f"log: {setup_logging(args.verbose)}\n")
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
        token=read_token(args.token_file) if args.token_file else "",
        insecure=args.insecure,
    )
    names = list(dict.fromkeys(args.model or ["default"]))
    load = engine_loader(args)
    if args.ray is not None:  # the engine is a pool of actors; the queue runs one job per actor
        if len(names) > 1:  # switching would need a second pool while the first holds every GPU
            raise BridgeError("serve --ray serves one model; run one bridge per model")
        ray, shape = join_cluster(args)
        engine = (args.device, args.dtype, args.allow_pickle)
        settings.workers = shape.workers

        def load(name: str) -> EnginePool:
            return EnginePool(ray, name, shape, engine, args.retries)

    service = BridgeService(settings, load, names[0], model_names=lambda: names)
    service.runner.load_listeners.append(say_loading)  # this one, and any a request's `model` switches to
    try:
        service.runner.load()  # now, so the first request does not wait for it
        leftovers = service.start()
    except Exception:  # a model that will not load, a port in use: close what did start, then say why
        service.stop()
        raise
    for name in names:  # the first is loaded (a hub id is downloaded now, card too); the others are read
        tell_licence(name, service.runner.model_licence(name))
    # The loaded libraries and model are some 400,000 objects that live as long as the process; a full
    # garbage collection walked them all (about 200 ms, during which no ping was answered). Frozen, they
    # are left out of every collection.
    gc.freeze()
    # Every packet the UDP thread reads costs it one wait for the GIL; under a flood handled on the other
    # threads that wait is the switch interval (5 ms by default), so a ping behind a few hundred packets
    # waited seconds. 0.5 ms trades a little throughput for a ten times shorter wait.
    sys.setswitchinterval(0.0005)
    midi = None
    if args.midi:
        midi = MidiControl(service.tempo, service.latest_takes)
        try:
            port_name = midi.open_virtual_port(api=args.midi_api)
        except Exception:
            service.stop()
            raise
        sys.stderr.write(f"MIDI input: {port_name}\n")
    if leftovers:
        sys.stderr.write(f"{len(leftovers)} unfinished job(s) from the last run: {args.on_restart}\n")
    if not args.verbose:  # --verbose prints the whole log, these lines included
        service.watch(say_job_end)
    sys.stderr.write(f"soundloom bridge ready: {service.describe()}\n")
    logging.getLogger("soundloom").info("bridge ready: %s", service.describe())
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
