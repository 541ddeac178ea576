"""The `soundloom` command: the composition root that puts the engine, the presets, the bridge and the app
together. Nothing else imports it; it is the only code that starts the app.

Each command group is one module with a `register(commands)` that adds its sub-parser and sets `run`,
the function that carries it out. Every error a user can cause ends as one line on stderr and exit code
2, with nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from ...engine.errors import EngineError
from ...presets import PresetError
from ..delivery.files import OutputError
from ..errors import BridgeError
from ..home import soundloom_version
from . import app, batch, client, corpus, generate, info, models, render, serve, train

COMMAND_GROUPS = (generate, batch, models, corpus, train, render, info, serve, client, app)


class OneLineErrors(argparse.ArgumentParser):
    """A usage error is one line and exit 2, naming --help; argparse's own prints the whole usage first
    (17 lines for `generate`). Sub-commands' parsers are made of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(prog="soundloom", description="Text-to-audio latent diffusion for sound design.")
    parser.add_argument("--version", action="version", version=f"soundloom {soundloom_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except OutputError as error:
        # The shared writer's words, with the command line's way out.
        message = (
            f"{error.taken} already exists; choose another --out or pass --overwrite"
            if error.taken
            else error
        )
        print(f"soundloom: error: {message}", file=sys.stderr)
        return 2
    except (EngineError, BridgeError, PresetError) as error:
        print(f"soundloom: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soundloom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 0
