"""The app's window as the GUI tests drive it: open it on a model, ask, generate, read its messages."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from soundloom.gui.app import App, start_app

from .bridge_process import free_port

RATE = 48_000  # the app's default export rate
WAIT_MS = 120_000


def open_app(qtbot, model: Path, port: int | None = None, midi_api: str | None = None) -> App:
    app = start_app(str(model), osc_port=port if port is not None else free_port(), midi_api=midi_api)
    qtbot.addWidget(app.window)
    with qtbot.waitActive(app.window):  # shortcuts (Ctrl+Enter, Space) go to the active window
        app.window.show()
        app.window.activateWindow()
    return app


def messages(app: App) -> list[str]:
    return [app.window.messages.item(row).text() for row in range(app.window.messages.count())]


def ask(qtbot, app: App, prompt: str, variations: int = 1, seconds: float = 0.5, steps: int = 2) -> None:
    window = app.window
    window.ask.prompt.clear()
    qtbot.keyClicks(window.ask.prompt, prompt)
    window.ask.duration.setValue(seconds)
    window.ask.steps.setValue(steps)
    window.ask.variations.setValue(variations)


def generate_takes(qtbot, app: App, prompt: str, variations: int = 1) -> list:
    ask(qtbot, app, prompt, variations)
    before = len(app.window.takes.model.takes)
    qtbot.keyClick(app.window.ask.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    try:
        qtbot.waitUntil(lambda: len(app.window.takes.model.takes) == before + variations, timeout=WAIT_MS)
    except Exception as error:
        rows = [(row.request_id, row.state, row.detail) for row in app.window.jobs.model.rows]
        raise AssertionError(f"no takes; jobs {rows}; the window says: {messages(app)}") from error
    return app.window.takes.model.takes[before:]
