"""`soundloom gui`: the engine, the OSC bridge and the window in one process.

`start_app` builds the parts (tests drive it directly); `run_gui` adds the QApplication and its loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QApplication

from ..engine.default_model import list_models
from ..host_bridge.daw.midi import MidiControl
from ..host_bridge.engine_loader import model_loader
from ..host_bridge.errors import BridgeError
from ..host_bridge.home import data_folder
from ..host_bridge.osc.service import DEFAULT_PORT, BridgeService, ServiceSettings
from ..presets import load_library
from .history import History
from .link import BridgeLink
from .player import Player
from .window import MainWindow


@dataclass
class App:
    window: MainWindow
    service: BridgeService
    link: BridgeLink
    history: History
    midi: MidiControl | None = None

    def close(self) -> None:
        self.window.close()
        if self.midi is not None:
            self.midi.stop()
        self.service.stop()
        self.history.close()


def app_settings() -> QSettings:
    """QSettings in the platform's place; under $SOUNDLOOM_DATA_DIR when that is set (tests, portable use)."""
    if os.environ.get("SOUNDLOOM_DATA_DIR"):
        return QSettings(str(data_folder() / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("Soundloom", "Soundloom")


def model_choices(model: str, settings: QSettings) -> list[str]:
    """The model picker's entries: the one asked for, the built-in and cached ones, the folders added."""
    folders = [str(folder) for folder in settings.value("models/folders", []) or []]
    return list(dict.fromkeys([model, *(entry.name for entry in list_models()), *folders]))


def start_app(
    model: str = "default",
    osc_port: int | None = None,
    roots: list[Path] | None = None,
    output: Path | None = None,
    device: str = "auto",
    dtype: str = "float32",
    midi_api: str | None = None,
) -> App:
    settings = app_settings()
    port = osc_port if osc_port is not None else int(settings.value("osc/port", DEFAULT_PORT))
    service = BridgeService(
        ServiceSettings(osc_port=port, roots=roots or [], output=output),
        model_loader(device, dtype),
        model,
        model_names=lambda: model_choices(model, settings),  # what a DAW request's `model` may name
    )
    messages = []
    try:
        service.start()
    except BridgeError as error:
        messages.append(f"{error}; DAW requests are off until the port is free (Settings > OSC port)")
        service.start(listen=False)
    link = BridgeLink(service)
    history = History(data_folder() / "history.sqlite")
    window = MainWindow(link, history, settings, load_library(), Player(), model_choices(model, settings))
    midi = None
    if midi_api is not None:  # MIDI clock and take audition, as `soundloom serve --midi`
        midi = MidiControl(service.tempo, service.latest_takes)
        try:
            messages.append(f"MIDI input: {midi.open_virtual_port(api=midi_api)}")
        except BridgeError as error:
            messages.append(str(error))
            midi = None
    for message in messages:
        window.show_message(message)
    return App(window, service, link, history, midi)


def run_gui(**options: Any) -> int:
    """The app with its window shown, until the window closes (the command line's `soundloom gui`);
    `options` are start_app's."""
    qt_app = QApplication.instance() or QApplication(["soundloom"])
    qt_app.setApplicationName("Soundloom")
    app = start_app(**options)
    app.window.show()
    try:
        return qt_app.exec()
    finally:
        app.close()
