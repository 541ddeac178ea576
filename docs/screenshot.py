"""Render docs/main-window.png: the app at 1280x800 with real content from the built-in model.

    QT_QPA_PLATFORM=offscreen python3 docs/screenshot.py

It generates three takes, opens one as the clip to edit (with a selection), shapes another through an
effect preset, and grabs the window. Data goes to a temporary folder, not your own history.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["SOUNDLOOM_DATA_DIR"] = tempfile.mkdtemp(prefix="soundloom-shot-")

from PyQt6.QtWidgets import QApplication
from soundloom.gui.app import start_app

OUT = Path(__file__).with_name("main-window.png")


def wait(app: QApplication, done, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for the app")
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    qt = QApplication(["soundloom"])
    parts = start_app("default", osc_port=0)
    window = parts.window
    window.resize(1280, 800)
    window.show()
    window.ask.prompt.setPlainText("heavy wooden door slams in a stone hall")
    window.ask.negative.setText("music, speech")
    window.ask.duration.setValue(4.0)
    window.ask.variations.setValue(3)
    window.ask.seed_locked.setChecked(True)
    window.ask.seed.setValue(1234)
    window.generate()
    wait(
        qt, lambda: len(window.takes.model.takes) == 3 and all(t.thumbnail for t in window.takes.model.takes)
    )
    window.clip.open_clip(window.takes.model.takes[0].path)
    wait(qt, lambda: window.clip.clip_path is not None)
    window.clip.view.set_selection(1.2, 2.1)
    window.takes.view.setCurrentIndex(window.takes.model.index(1))
    wait(qt, lambda: window.takes.loaded is not None)
    window.shape.effect_preset.setCurrentText("Canyon Echo")
    window.shape.apply_effect_preset("Canyon Echo")
    wait(qt, lambda: len(window.takes.model.takes) == 4 and window.takes.model.takes[3].thumbnail is not None)
    window.takes.view.setCurrentIndex(window.takes.model.index(1))
    window.left_tabs.setCurrentIndex(0)
    for _ in range(30):
        qt.processEvents()
        time.sleep(0.02)
    window.grab().save(str(OUT))
    print(f"wrote {OUT}")
    parts.close()


if __name__ == "__main__":
    main()
