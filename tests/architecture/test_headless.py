"""A render server or cluster worker installs no PyQt6 and no matplotlib (they are the `app` and `train`
extras): the command line, the bridge and generation must work without them, and the commands that do
need them must say which extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest
from soundloom.host_bridge.cli import app, main, train

# With a module set to None in sys.modules, importing it raises ImportError, as on a machine without it.
WITHOUT_EXTRAS = """
import sys
sys.modules["PyQt6"] = sys.modules["matplotlib"] = None
from soundloom.host_bridge.cli import build_parser
from soundloom.host_bridge.osc.service import BridgeService
from soundloom.engine.loader import load_model
build_parser().parse_args(["serve", "--model", "default"])
print("headless imports fine")
"""


def test_the_headless_parts_import_without_the_extras() -> None:
    run = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "headless imports fine"


@pytest.mark.parametrize(
    ("module", "words", "extra"),
    [
        (app, ["gui"], "soundloom[app]"),
        (train, ["train", "vae", "--data", "d", "--out", "o"], "soundloom[train]"),
    ],
)
def test_a_command_that_needs_an_extra_names_it(module, words, extra, monkeypatch, capsys) -> None:
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: None)
    assert main(words) == 2
    assert extra in capsys.readouterr().err
