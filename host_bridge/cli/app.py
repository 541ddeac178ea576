"""`soundloom gui`: the desktop app. The command line is the only code that starts it."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from ..daw.midi import MIDI_APIS
from ..errors import BridgeError
from ..logs import setup_logging
from .options import add_engine_options


def register(commands: argparse._SubParsersAction) -> None:
    gui = commands.add_parser("gui", help="the desktop app: engine, DAW bridge and window in one process")
    gui.set_defaults(run=run_app)
    gui.add_argument("--model", default="default", help="'default', a checkpoint folder, or a hub id")
    gui.add_argument(
        "--osc-port", type=int, default=None, help="bridge port (default: the saved one, or 9000)"
    )
    gui.add_argument(
        "--root", type=Path, action="append", default=[], help="a folder DAW inputs may come from"
    )
    gui.add_argument("--out", type=Path, default=None, help="output folder (default: the data folder's)")
    gui.add_argument(
        "--midi",
        choices=MIDI_APIS,
        default=None,
        help="open a virtual MIDI port (clock, take audition) through this API; auto picks ALSA or JACK",
    )
    gui.add_argument(
        "--verbose", action="store_true", help="also print the log (data folder's soundloom.log) on stderr"
    )
    add_engine_options(gui)


def run_app(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("PyQt6") is None:
        raise BridgeError("the desktop app needs PyQt6: pip install 'soundloom[app]'")
    from ...gui.app import run_gui  # imports PyQt6: only when the app is asked for

    setup_logging(args.verbose)

    return run_gui(
        model=args.model,
        osc_port=args.osc_port,
        roots=args.root,
        output=args.out,
        device=args.device,
        dtype=args.dtype,
        midi_api=args.midi,
    )
