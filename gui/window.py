"""The main window: the panels side by side, their signals wired, messages and the status bar.

Left: ask and edit a clip. Middle: jobs, takes and audition, messages. Right: shape, history, settings.
Everything slow (the engine, reading and drawing audio, re-rendering a chain) happens off the GUI thread:
jobs on the bridge's worker, the rest on Qt's thread pool through `run_in_background`. Problems end up
in the Messages list and the status bar, never only in a log.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PyQt6.QtWidgets import QLabel, QListWidget, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ..engine.licence import Licence
from ..host_bridge.jobs.errors import JobError
from ..host_bridge.jobs.spec import JobSpec
from ..host_bridge.osc.job import JobDone
from ..presets import PresetLibrary
from .background import run_in_background
from .history import History, TakeRecord
from .link import BridgeLink
from .panels.ask import AskPanel
from .panels.clip import ClipPanel
from .panels.history import HistoryPanel
from .panels.jobs import JobsPanel
from .panels.settings import SettingsPanel
from .panels.shape import ShapePanel
from .panels.takes import TakesPanel
from .player import Player, output_problem
from .takes import Take


class MainWindow(QMainWindow):
    def __init__(
        self,
        link: BridgeLink,
        history: History,
        settings: QSettings,
        library: PresetLibrary,
        player: Player | None = None,
        models: list[str] | None = None,
    ):
        super().__init__()
        self.link, self.history, self.settings = link, history, settings
        self.player = player or Player()
        self.noticed: set[str] = set()  # the models whose non-commercial licence was said
        self.setWindowTitle("Soundloom")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        folders = [str(folder) for folder in settings.value("models/folders", []) or []]
        self.ask = AskPanel(library, models or ["default"], folders)
        self.clip = ClipPanel()
        self.settings_panel = SettingsPanel(settings, str(link.output), link.default_osc_port, self.player)
        self.jobs = JobsPanel(link, history, self.player)
        self.takes = TakesPanel(link, history, self.player, self.settings_panel.daw_port)
        self.shape = ShapePanel(library, link.output, self.settings_panel.export_settings)
        self.history_panel = HistoryPanel(history, self.submit)
        self.messages = QListWidget()
        self.messages.setMaximumHeight(90)
        self._lay_out()
        self._wire()
        self.engine_label, self.daw_label = QLabel(), QLabel()
        self.statusBar().addPermanentWidget(self.engine_label)
        self.statusBar().addPermanentWidget(self.daw_label)
        self._shortcuts()
        self.status_timer = QTimer(self, interval=250, timeout=self._tick)
        self.status_timer.start()
        self.settings_panel.restore()
        self.read_licence(self.ask.model.currentText())

    def _lay_out(self) -> None:
        self.left_tabs = QTabWidget()
        self.left_tabs.addTab(self.ask, "Ask")
        self.left_tabs.addTab(self.clip, "Edit clip")
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.shape, "Shape")
        self.right_tabs.addTab(self.history_panel, "History")
        self.right_tabs.addTab(self.settings_panel, "Settings")
        center = QWidget()
        layout = QVBoxLayout(center)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.jobs, 2)
        layout.addWidget(self.takes, 5)
        layout.addWidget(QLabel("Messages"))
        layout.addWidget(self.messages)
        splitter = QSplitter()
        for widget in (self.left_tabs, center, self.right_tabs):
            splitter.addWidget(widget)
        splitter.setSizes([330, 620, 330])
        self.setCentralWidget(splitter)

    def _wire(self) -> None:
        for panel in (
            self.ask,
            self.clip,
            self.jobs,
            self.takes,
            self.shape,
            self.history_panel,
            self.settings_panel,
        ):
            panel.message.connect(self.show_message)
        no_playback = output_problem(None)  # PortAudio missing, or no output device: say what to do
        if no_playback:
            self.show_message(no_playback)
        self.link.model_loading.connect(self.show_loading)
        self.ask.generate_requested.connect(self.generate)
        self.ask.model_chosen.connect(self.change_model)
        self.ask.fx_suggested.connect(self.shape.effect_preset.setCurrentText)
        self.clip.edit_requested.connect(self.edit_clip)
        self.clip.clip_opened.connect(lambda: self.left_tabs.setCurrentWidget(self.clip))
        self.jobs.finished.connect(self.add_results)
        self.jobs.changed.connect(self.history_panel.refresh)
        self.takes.selected.connect(self.shape.show_take)
        self.shape.shaped.connect(self.add_shaped)
        self.history_panel.take_found.connect(self.add_known_take)

    def _shortcuts(self) -> None:
        for keys, slot in (
            ("Ctrl+Return", self.generate),
            ("Ctrl+Enter", self.generate),
            ("Space", self.takes.toggle_play),
            ("Ctrl+O", self.clip.choose_clip),
        ):
            action = QAction(self, shortcut=QKeySequence(keys), triggered=slot)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)

    def show_loading(self, model: str, seconds: float | None) -> None:
        """A model load takes seconds: a first job must not sit at 0% without a word."""
        if seconds is None:
            self.engine_label.setText(f"engine: loading {model} …")
            self.show_message(f"loading model {model} … (the first job waits for it)")
        else:
            self.show_message(f"model {model} loaded in {seconds:.1f} s")

    def show_message(self, text: str) -> None:
        self.messages.insertItem(0, f"{time.strftime('%H:%M:%S')}  {text}")
        self.statusBar().showMessage(text, 10_000)

    def change_model(self, model_id: str) -> None:
        self.link.use_model(model_id)
        self.settings.setValue("models/folders", self.ask.saved_folders)
        self.show_message(f"model {model_id} loads with the next job")
        self.read_licence(model_id)

    def read_licence(self, model_id: str) -> None:
        """Show the model card's licence beside the picker; say a non-commercial one once per model."""

        def read(licence: Licence) -> None:
            self.ask.show_licence(model_id, licence)
            notice = licence.notice(model_id)
            if notice and model_id not in self.noticed:
                self.noticed.add(model_id)
                self.show_message(notice)

        run_in_background(lambda: self.link.model_licence(model_id), read, self.show_message)

    # ---- asking: every job goes through `submit`, checked exactly as an OSC request --------------

    def generate(self) -> str | None:
        prompt = self.ask.prompt_text()
        if not prompt:
            self.show_message("type a prompt first: what should it sound like?")
            self.ask.prompt.setFocus()
            return None
        fields = self.ask.generation_fields()
        if fields is None:
            return None
        if self.ask.loop.isChecked():
            fields["loop"] = True
        fields["preview"] = True  # hear the take while it is denoised (the jobs panel's preview strip)
        return self.submit(JobSpec("generate", prompt, **fields, **self.ask.length_fields()))

    def edit_clip(self, kind: str) -> str | None:
        if self.clip.clip_path is None:
            self.show_message(f"{kind}: open or drop a clip first")
            return None
        prompt = self.clip.prompt.text().strip()
        if kind != "vary" and not prompt:
            self.show_message(f"{kind}: type a prompt above the clip's buttons first (Edit clip tab)")
            return None
        fields = self.ask.sampling_fields() if kind == "vary" else self.ask.generation_fields()
        own = self.clip.edit_fields(kind)
        if fields is None or own is None:
            return None
        if self.ask.loop.isChecked() and kind in ("transfer", "vary"):
            fields["loop"] = True
        prompt = "" if kind == "vary" else prompt
        return self.submit(JobSpec(kind, prompt, self.clip.clip_path, **fields, **own))

    def submit(self, spec: JobSpec) -> str | None:
        """Queue a job with the export settings; a re-run's own recorded export settings win."""
        request_id = f"app-{uuid.uuid4().hex[:10]}"
        export = {
            name: value
            for name, value in self.settings_panel.export_fields().items()
            if getattr(spec, name) is None
        }
        try:
            self.link.submit(request_id, replace(spec, **export))
        except JobError as error:
            self.show_message(f"{spec.operation}: {error.message}")
            return None
        return request_id

    # ---- results -----------------------------------------------------------------------------------

    def add_results(self, event: JobDone, prompt: str) -> None:
        request_id = event.job.request_id
        for position, result in enumerate(event.results):
            self.history.add_take(TakeRecord(result, request_id), position)
            self.takes.add(Take(result, request_id, prompt), select=position == 0)

    def add_shaped(self, shaped: Take, source: Take) -> None:
        position = len(self.takes.model.for_job(source.request_id))
        self.history.add_take(TakeRecord(shaped.file, source.request_id), position)
        self.takes.add(shaped, select=False)

    def add_known_take(self, take: Take) -> None:
        if take.path not in {known.path for known in self.takes.model.takes}:
            self.takes.add(take, select=False)

    # ---- window events -----------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if not paths:
            self.show_message("only files can be dropped here")
            return
        self.clip.open_clip(paths[0])
        event.acceptProposedAction()

    def _tick(self) -> None:
        self.engine_label.setText(self.link.engine_status())
        self.daw_label.setText(self.link.daw_status(time.time()))
        self.takes.tick()

    def closeEvent(self, event: Any) -> None:
        self.player.stop()
        self.settings_panel.save()
        super().closeEvent(event)
