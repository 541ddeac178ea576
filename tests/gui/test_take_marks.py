"""Each take in the app's list says what it is (loudness, rate, bits, layout) and is marked when its render
warned: here a take the tiny model makes at about -42 LUFS, normalised to -14 (28 dB of gain)."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from soundloom.gui.takes import WARNING_COLOUR

from ..helpers.app_window import generate_takes, messages


def test_a_much_raised_take_is_marked_and_every_take_shows_its_format(qtbot, app) -> None:
    window = app.window
    window.settings_panel.export_loudness.setValue(-14)
    [take] = generate_takes(qtbot, app, "distant thunder")
    said = messages(app)  # newest first: the first job waited for the model, and was told why
    assert any(" loading model " in text for text in said)  # each message starts with its time
    assert any(" loaded in " in text for text in said)
    index = window.takes.model.index(window.takes.model.takes.index(take))
    described = window.takes.model.data(index, Qt.ItemDataRole.DisplayRole)
    lines = described.split("\n")
    loudness, rest = lines[2].split(" LUFS · ")
    assert abs(float(loudness) - -14) < 1 and rest == "48 kHz · 24-bit · mono", described  # as measured
    assert lines[3].startswith("⚠ normalisation raised it by ") and lines[3].endswith(" came up with it")
    assert window.takes.model.data(index, Qt.ItemDataRole.ForegroundRole).name() == WARNING_COLOUR
    window.settings_panel.export_loudness.setValue(window.settings_panel.export_loudness.minimum())  # off
    [plain] = generate_takes(qtbot, app, "distant thunder")
    index = window.takes.model.index(window.takes.model.takes.index(plain))
    assert "⚠" not in window.takes.model.data(index, Qt.ItemDataRole.DisplayRole)
    assert window.takes.model.data(index, Qt.ItemDataRole.ForegroundRole) is None
