"""The licence in the app: beside the model picker (marked when non-commercial, said once in the
messages), and on each take, read from the take's own file."""

from __future__ import annotations

import shutil
from pathlib import Path

from PyQt6.QtCore import Qt
from soundloom.gui.takes import NONCOMMERCIAL_COLOUR
from soundloom.host_bridge.delivery.wav_metadata import read_provenance

from ..helpers.app_window import WAIT_MS, generate_takes, messages, open_app


def test_a_non_commercial_model_is_marked_beside_the_picker_and_on_its_takes(
    qtbot, tiny_checkpoint: Path, data_dir: Path, tmp_path: Path
) -> None:
    model = Path(shutil.copytree(tiny_checkpoint, tmp_path / "audioldm-nc"))
    (model / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# A model\n")
    app = open_app(qtbot, model)
    try:
        window = app.window
        qtbot.waitUntil(lambda: window.ask.licence_of is not None, timeout=WAIT_MS)
        label = window.ask.licence.text()
        assert "⚠ non-commercial" in label and "cc-by-nc-4.0" in label
        assert 'href="https://creativecommons.org/licenses/by-nc/4.0/"' in label
        assert "Creative Commons NonCommercial" in window.ask.licence.toolTip()
        notices = [text for text in messages(app) if "notice:" in text]
        assert len(notices) == 1 and str(model) in notices[0]

        [take] = generate_takes(qtbot, app, "rain")
        qtbot.waitUntil(lambda: take.licence is not None, timeout=WAIT_MS)
        index = window.takes.model.index(window.takes.model.takes.index(take))
        described = window.takes.model.data(index, Qt.ItemDataRole.DisplayRole)
        assert described.endswith("\n⚠ non-commercial, licence cc-by-nc-4.0")
        colour = window.takes.model.data(index, Qt.ItemDataRole.ForegroundRole)
        assert colour.name() == NONCOMMERCIAL_COLOUR
        window.takes.view.setCurrentIndex(index)  # shaped in the app: the re-render keeps the licence
        window.shape.chain_editor.add_choice.setCurrentText("Gain")
        qtbot.mouseClick(window.shape.chain_editor.add_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: any(t.shaped_from == take.path for t in window.takes.model.takes), timeout=WAIT_MS
        )
        shaped = next(t for t in window.takes.model.takes if t.shaped_from == take.path)
        assert read_provenance(Path(shaped.path).read_bytes())["licence"]["id"] == "cc-by-nc-4.0"
        qtbot.waitUntil(lambda: shaped.licence is not None, timeout=WAIT_MS)
        assert shaped.licence.noncommercial

        window.ask.model.addItem("default")
        window.ask.model.setCurrentText("default")  # the built-in model: its own card, MIT
        qtbot.waitUntil(lambda: window.ask.licence_of[0] == "default", timeout=WAIT_MS)
        assert window.ask.licence.text() == "mit" and len([t for t in messages(app) if "notice:" in t]) == 1
        window.ask.model.setCurrentText(str(model))  # back again: marked again, not said again
        qtbot.waitUntil(lambda: window.ask.licence_of[0] == str(model), timeout=WAIT_MS)
        assert "⚠ non-commercial" in window.ask.licence.text()
        assert len([text for text in messages(app) if "notice:" in text]) == 1
    finally:
        app.close()


def test_a_model_without_a_card_shows_unknown_and_why(qtbot, app) -> None:
    qtbot.waitUntil(lambda: app.window.ask.licence_of is not None, timeout=WAIT_MS)
    assert app.window.ask.licence.text() == "unknown"
    assert "no model card (README.md)" in app.window.ask.licence.toolTip()
    [take] = generate_takes(qtbot, app, "wind")
    qtbot.waitUntil(lambda: take.licence is not None, timeout=WAIT_MS)
    assert take.describe().endswith("\nlicence unknown") and not take.licence.noncommercial
