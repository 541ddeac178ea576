"""Audition through real PortAudio says what is wrong in words, not PortAudio's "Error querying device -1"."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from soundloom.gui.player import Player, PlayerError

PLAY = """
import numpy as np
from soundloom.gui.player import Player, PlayerError, output_devices
if output_devices():
    print("HAS_OUTPUT")
try:
    Player().play(np.zeros(480, np.float32), 48000)
except PlayerError as error:
    print(error)
"""


def test_a_machine_without_an_output_device_is_told_so(tmp_path) -> None:
    # The machine's own ALSA configuration, not the tests' null device: CI machines have no sound card.
    env = {key: value for key, value in os.environ.items() if key != "ALSA_CONFIG_PATH"}
    run = subprocess.run([sys.executable, "-c", PLAY], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    if "HAS_OUTPUT" in run.stdout:
        pytest.skip("this machine has an audio output device")
    assert run.stdout.startswith("no audio output: PortAudio finds no output device on this machine")
    assert "Error querying" not in run.stdout


def test_a_chosen_device_that_is_gone_names_settings() -> None:
    player = Player()  # ALSA's null device is there (tests/conftest.py); device 40 is not
    player.device = 40
    with pytest.raises(PlayerError, match=r"the audio output chosen in Settings \(device 40\) is gone"):
        player.play(np.zeros(480, np.float32), 48000)
