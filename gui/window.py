"""The main window: ask (prompt and settings), edit a clip, watch jobs, audition and shape takes, history.

Everything slow (the engine, reading and drawing audio, re-rendering a chain) happens off the GUI thread:
jobs on the bridge's worker, the rest on Qt's thread pool through `run_in_background`. Problems end up
in the Messages list and the status bar, never only in a log.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from PyQt6.QtCore import QSettings, QSize, Qt, QTimer, QUrl
from PyQt6.QtGui import (
    QAction,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..engine.clip import read_clip
from ..engine.requests import MAX_DURATION_S
from ..host_bridge.deliver import Delivery, read_file_provenance, rerender
from ..host_bridge.jobs import ResultFile
from ..host_bridge.osc_transport import encode
from ..host_bridge.protocol import PREFIX, ProtocolError
from ..presets import EffectChain, ExportSettings, PresetError, PresetLibrary
from ..presets.effects import parse_chain
from .background import run_in_background
from .chain_editor import ChainEditor
from .history import History, JobRecord, TakeRecord
from .jobs_model import HistoryModel, JobRow, JobsModel, ProgressDelegate
from .link import BridgeLink
from .player import Player, PlayerError, output_devices
from .takes import THUMB_HEIGHT, THUMB_WIDTH, Take, TakesModel, thumbnail
from .thumbnails import spectrogram_image, waveform_image
from .waveform import WaveformView

SAMPLERS = ("dpm++", "ddim")
RATES = ("48000", "44100", "96000", "16000")
BIT_DEPTHS = ("24", "16", "32f")


@dataclass
class LoadedAudio:
    path: str
    audio: np.ndarray
    sample_rate: int


def load_take_audio(path: str) -> LoadedAudio:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return LoadedAudio(path, audio, rate)


def make_thumbnail(path: str) -> Any:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    color = QColor(120, 200, 255)
    return thumbnail(
        waveform_image(audio, THUMB_WIDTH, THUMB_HEIGHT, color),
        spectrogram_image(audio, rate, THUMB_WIDTH, THUMB_HEIGHT),
    )


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
        self.link, self.history, self.settings, self.library = link, history, settings, library
        self.player = player or Player()
        self.setWindowTitle("Soundloom")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.jobs = JobsModel()
        self.takes = TakesModel()
        self.clip_path: str | None = None
        self.clip_audio: LoadedAudio | None = None
        self.loaded: LoadedAudio | None = None  # the selected take's audio
        self.ab_pair: list[Take] = []  # the last two takes selected, for A/B
        self._restoring = True

        left = QTabWidget()
        left.addTab(self._ask_tab(models or ["default"]), "Ask")
        left.addTab(self._clip_tab(), "Edit clip")
        self.left_tabs = left
        right = QTabWidget()
        right.addTab(self._shape_tab(), "Shape")
        right.addTab(self._history_tab(), "History")
        right.addTab(self._settings_tab(), "Settings")
        self.right_tabs = right
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self._center())
        splitter.addWidget(right)
        splitter.setSizes([330, 620, 330])
        self.setCentralWidget(splitter)

        self.engine_label, self.daw_label = QLabel(), QLabel()
        self.statusBar().addPermanentWidget(self.engine_label)
        self.statusBar().addPermanentWidget(self.daw_label)
        self._shortcuts()

        link.job_queued.connect(self.on_job_queued)
        link.job_event.connect(self.on_job_event)
        self.status_timer = QTimer(self, interval=250, timeout=self._tick)
        self.status_timer.start()
        self.rerender_timer = QTimer(self, singleShot=True, interval=250, timeout=self.rerender_take)
        self._restore_settings()
        self.refresh_history()

    # ---- building the window -------------------------------------------------------------------

    def _ask_tab(self, models: list[str]) -> QWidget:
        self.prompt = QPlainTextEdit(
            placeholderText="Describe the sound: 'heavy wooden door slams in a stone hall'"
        )
        self.prompt.setFixedHeight(70)
        self.negative = QLineEdit(placeholderText="negative prompt (what to avoid)")
        self.transcript = QLineEdit(placeholderText="speech checkpoints only: the words to speak")
        self.prompt_preset = QComboBox()
        self.prompt_preset.addItem("(no prompt preset)")
        self.prompt_preset.addItems(sorted(entry.preset.name for entry in self.library.prompts.values()))
        self.prompt_preset.currentTextChanged.connect(self.apply_prompt_preset)
        self.length_unit = QComboBox()
        self.length_unit.addItems(["seconds", "bars"])
        self.duration = QDoubleSpinBox(minimum=0.1, maximum=MAX_DURATION_S, value=5.0, singleStep=0.5)
        self.bpm = QDoubleSpinBox(minimum=20, maximum=400, value=120, decimals=1, suffix=" BPM")
        self.use_daw_tempo = QCheckBox("from DAW")
        self.use_daw_tempo.setToolTip("bars at the tempo the DAW last sent (OSC or MIDI clock)")
        self.steps = QSpinBox(minimum=1, maximum=1000, value=25)
        self.guidance = QDoubleSpinBox(minimum=0.0, maximum=20.0, value=2.5, singleStep=0.5)
        self.sampler = QComboBox()
        self.sampler.addItems(SAMPLERS)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed_locked = QCheckBox("lock")
        copy_seed = QPushButton("Copy")
        copy_seed.setToolTip("copy the seed to the clipboard")
        copy_seed.clicked.connect(lambda: QGuiApplication.clipboard().setText(str(self.seed.value())))
        self.variations = QSpinBox(minimum=1, maximum=16, value=1)
        self.rerank = QCheckBox("best first")
        self.rerank.setToolTip("order the takes by CLAP text-audio score (needs CLAP's audio branch)")
        self.model = QComboBox(editable=False)
        self.model.addItems(models)
        self.model.currentTextChanged.connect(self.change_model)
        add_model = QPushButton("Folder…")
        add_model.clicked.connect(self.add_model_folder)
        self.generate_button = QPushButton("Generate  (Ctrl+Enter)")
        self.generate_button.clicked.connect(self.generate)

        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Negative", self.negative)
        form.addRow("Transcript", self.transcript)
        form.addRow("Preset", self.prompt_preset)
        length = QHBoxLayout()
        length.addWidget(self.duration, 1)
        length.addWidget(self.length_unit)
        form.addRow("Length", length)
        tempo = QHBoxLayout()
        tempo.addWidget(self.bpm, 1)
        tempo.addWidget(self.use_daw_tempo)
        form.addRow("Tempo", tempo)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        form.addRow("Sampler", self.sampler)
        seed = QHBoxLayout()
        seed.addWidget(self.seed, 1)
        seed.addWidget(self.seed_locked)
        seed.addWidget(copy_seed)
        form.addRow("Seed", seed)
        variations = QHBoxLayout()
        variations.addWidget(self.variations, 1)
        variations.addWidget(self.rerank)
        form.addRow("Variations", variations)
        model = QHBoxLayout()
        model.addWidget(self.model, 1)
        model.addWidget(add_model)
        form.addRow("Model", model)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addLayout(form)
        layout.addWidget(self.generate_button)
        layout.addStretch(1)
        return tab

    def _clip_tab(self) -> QWidget:
        self.clip_label = QLabel("No clip. Open one, or drop a WAV/AIFF/FLAC on the window.")
        self.clip_label.setWordWrap(True)
        open_button = QPushButton("Open clip…")
        open_button.clicked.connect(self.choose_clip)
        self.clip_view = WaveformView()
        self.clip_view.selection_changed.connect(self._clip_selection_changed)
        self.selection_label = QLabel("Selection: none (drag over the waveform)")
        self.strength = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=50)
        self.strength_label = QLabel("0.50")
        self.strength.valueChanged.connect(lambda value: self.strength_label.setText(f"{value / 100:.2f}"))
        self.extend_seconds = QDoubleSpinBox(minimum=0.5, maximum=30.0, value=5.0, suffix=" s")
        actions = QGroupBox("Run on the clip (uses the Ask tab's prompt and settings)")
        grid = QFormLayout(actions)
        strength = QHBoxLayout()
        strength.addWidget(self.strength, 1)
        strength.addWidget(self.strength_label)
        grid.addRow("Strength", strength)
        grid.addRow("Extend by", self.extend_seconds)
        buttons = QHBoxLayout()
        for label, kind in (("Style transfer", "transfer"), ("Inpaint selection", "inpaint"),
                            ("Extend", "extend"), ("Variations", "vary")):  # fmt: skip
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, kind=kind: self.edit_clip(kind))
            buttons.addWidget(button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.clip_label)
        layout.addWidget(open_button)
        layout.addWidget(self.clip_view, 1)
        layout.addWidget(self.selection_label)
        layout.addWidget(actions)
        layout.addLayout(buttons)
        return tab

    def _center(self) -> QWidget:
        self.jobs_view = QTableView()
        self.jobs_view.setModel(self.jobs)
        self.jobs_view.setItemDelegate(ProgressDelegate(self.jobs_view))
        self.jobs_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.jobs_view.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.jobs_view.verticalHeader().hide()
        self.cancel_button = QPushButton("Cancel job")
        self.cancel_button.clicked.connect(self.cancel_selected_job)
        self.takes_view = QListView()
        self.takes_view.setModel(self.takes)
        self.takes_view.setDragEnabled(True)
        self.takes_view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.takes_view.selectionModel().currentChanged.connect(lambda index, _: self.select_take(index))
        self.takes_view.setIconSize(QSize(THUMB_WIDTH, THUMB_HEIGHT * 2))
        self.take_view = WaveformView()
        self.take_view.setMaximumHeight(110)
        self.take_view.seek_requested.connect(self.seek)
        self.play_button = QPushButton("Play  (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.loop_box = QCheckBox("Loop")
        self.loop_box.toggled.connect(lambda on: setattr(self.player, "loop", on))
        self.ab_button = QPushButton("A/B")
        self.ab_button.clicked.connect(self.switch_ab)
        transport, deliver = QHBoxLayout(), QHBoxLayout()
        for widget in (self.play_button, self.loop_box, self.ab_button):
            transport.addWidget(widget)
        for label, slot in (("Send to DAW", self.send_to_daw), ("Reveal", self.reveal_take),
                            ("Star", self.star_take), ("Rename…", self.rename_take)):  # fmt: skip
            button = QPushButton(label)
            button.clicked.connect(slot)
            deliver.addWidget(button)
        self.messages = QListWidget()
        self.messages.setMaximumHeight(90)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        jobs_bar = QHBoxLayout()
        jobs_bar.addWidget(QLabel("Jobs (from this window and the DAW)"), 1)
        jobs_bar.addWidget(self.cancel_button)
        layout.addLayout(jobs_bar)
        layout.addWidget(self.jobs_view, 2)
        layout.addWidget(QLabel("Takes: drag one into the DAW or a folder"))
        layout.addWidget(self.takes_view, 4)
        layout.addWidget(self.take_view)
        layout.addLayout(transport)
        layout.addLayout(deliver)
        layout.addWidget(QLabel("Messages"))
        layout.addWidget(self.messages)
        return box

    def _shape_tab(self) -> QWidget:
        self.effect_preset = QComboBox()
        self.effect_preset.addItem("(dry)")
        self.effect_preset.addItems(sorted(entry.preset.name for entry in self.library.effects.values()))
        self.effect_preset.textActivated.connect(self.apply_effect_preset)
        self.chain_editor = ChainEditor()
        self.chain_editor.chain_changed.connect(lambda _: self.rerender_timer.start())
        self.chain_editor.error.connect(self.show_message)
        self.rerender_button = QPushButton("Re-render the take")
        self.rerender_button.clicked.connect(self.rerender_take)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(QLabel("Effect chain of the selected take; edits re-render its dry take"))
        layout.addWidget(self.effect_preset)
        layout.addWidget(self.chain_editor, 1)
        layout.addWidget(self.rerender_button)
        return tab

    def _history_tab(self) -> QWidget:
        self.history_search = QLineEdit(placeholderText="search prompts, kinds, ids")
        self.history_search.textChanged.connect(self.refresh_history)
        self.history_model = HistoryModel()
        self.history_table = QTableView()
        self.history_table.setModel(self.history_model)
        self.history_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.history_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_table.verticalHeader().hide()
        self.history_table.selectionModel().selectionChanged.connect(self.show_history_takes)
        rerun = QPushButton("Re-run")
        rerun.clicked.connect(lambda: self.rerun_history(new_seed=False))
        new_seed = QPushButton("New seed")
        new_seed.clicked.connect(lambda: self.rerun_history(new_seed=True))
        buttons = QHBoxLayout()
        buttons.addWidget(rerun)
        buttons.addWidget(new_seed)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.history_search)
        layout.addWidget(self.history_table, 1)
        layout.addLayout(buttons)
        return tab

    def _settings_tab(self) -> QWidget:
        self.output_label = QLabel(str(self.link.service.output))
        self.output_label.setWordWrap(True)
        self.osc_port = QSpinBox(minimum=0, maximum=65535)
        self.device_choice = QComboBox()
        self.device_choice.addItem("System default", None)
        for device in output_devices():
            self.device_choice.addItem(device.name, device.index)
        self.device_choice.currentIndexChanged.connect(self.change_device)
        self.export_rate = QComboBox()
        self.export_rate.addItems(RATES)
        self.export_bits = QComboBox()
        self.export_bits.addItems(BIT_DEPTHS)
        self.export_loudness = QDoubleSpinBox(
            minimum=-60, maximum=0, value=0, suffix=" LUFS", specialValueText="off"
        )
        self.daw_port = QSpinBox(minimum=0, maximum=65535, specialValueText="off")
        tab = QWidget()
        form = QFormLayout(tab)
        form.addRow("Output folder", self.output_label)
        form.addRow("OSC port (next start)", self.osc_port)
        form.addRow("Audio output", self.device_choice)
        form.addRow("Export rate", self.export_rate)
        form.addRow("Bit depth", self.export_bits)
        form.addRow("Loudness", self.export_loudness)
        form.addRow("Send to DAW port", self.daw_port)
        for widget in (self.osc_port, self.daw_port, self.export_loudness):
            widget.valueChanged.connect(self._save_settings)
        for combo in (self.export_rate, self.export_bits):
            combo.currentTextChanged.connect(self._save_settings)
        return tab

    def _shortcuts(self) -> None:
        for keys, slot in (
            ("Ctrl+Return", self.generate),
            ("Ctrl+Enter", self.generate),
            ("Space", self.toggle_play),
            ("Ctrl+O", self.choose_clip),
        ):
            action = QAction(self, shortcut=QKeySequence(keys), triggered=slot)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)

    # ---- settings --------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        values = self.settings
        self._restoring = True  # setting the widgets fires their save signals; save nothing half-restored
        self.osc_port.setValue(int(values.value("osc/port", self.link.service.settings.osc_port)))
        self.daw_port.setValue(int(values.value("daw/port", 0)))
        self.export_rate.setCurrentText(str(values.value("export/rate", "48000")))
        self.export_bits.setCurrentText(str(values.value("export/bit_depth", "24")))
        self.export_loudness.setValue(float(values.value("export/loudness", 0)))
        device = values.value("audio/device", "")
        if device:
            found = self.device_choice.findText(str(device))
            if found < 0:
                self.show_message(f"the audio output {device!r} is gone; playing through the system default")
            else:
                self.device_choice.setCurrentIndex(found)
        self._restoring = False

    def _save_settings(self) -> None:
        if self._restoring:
            return
        values = self.settings
        values.setValue("osc/port", self.osc_port.value())
        values.setValue("daw/port", self.daw_port.value())
        values.setValue("export/rate", self.export_rate.currentText())
        values.setValue("export/bit_depth", self.export_bits.currentText())
        values.setValue("export/loudness", self.export_loudness.value())
        values.setValue(
            "audio/device", self.device_choice.currentText() if self.device_choice.currentIndex() else ""
        )

    def change_device(self) -> None:
        self.player.stop()
        self.player.device = self.device_choice.currentData()
        self._save_settings()

    def export_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "rate": int(self.export_rate.currentText()),
            "bit_depth": self.export_bits.currentText(),
        }
        if self.export_loudness.value() < 0:
            options["loudness"] = self.export_loudness.value()
        return options

    def export_settings(self) -> ExportSettings:
        loudness = self.export_loudness.value()
        return ExportSettings(
            sample_rate=int(self.export_rate.currentText()),
            bit_depth=self.export_bits.currentText(),
            loudness_lufs=loudness if loudness < 0 else None,
        )

    # ---- asking ----------------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.messages.insertItem(0, f"{stamp}  {text}")
        self.statusBar().showMessage(text, 10_000)

    def apply_prompt_preset(self, name: str) -> None:
        if name.startswith("("):
            return
        try:
            preset = self.library.prompt(name)
        except PresetError as error:
            self.show_message(str(error))
            return
        self.prompt.setPlainText(preset.template)
        self.negative.setText(preset.negative_prompt)
        fields = preset.settings
        if "steps" in fields:
            self.steps.setValue(int(fields["steps"]))
        if "guidance_scale" in fields:
            self.guidance.setValue(float(fields["guidance_scale"]))
        if "duration_s" in fields:
            self.length_unit.setCurrentText("seconds")
            self.duration.setValue(float(fields["duration_s"]))

    def change_model(self, model_id: str) -> None:
        self.link.use_model(model_id)
        self.show_message(f"model {model_id} loads with the next job")

    def add_model_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Checkpoint folder")
        if folder:
            if self.model.findText(folder) < 0:
                self.model.addItem(folder)
                folders = [str(saved) for saved in self.settings.value("models/folders", []) or []]
                self.settings.setValue("models/folders", [*folders, folder])
            self.model.setCurrentText(folder)

    def sampling_options(self) -> dict[str, Any]:
        if not self.seed_locked.isChecked():
            self.seed.setValue(random.randrange(2**31 - 1))
        options: dict[str, Any] = {
            "seed": self.seed.value(),
            "steps": self.steps.value(),
            "guidance": self.guidance.value(),
            "sampler": self.sampler.currentText(),
            "variations": self.variations.value(),
        }
        if self.negative.text().strip():
            options["negative"] = self.negative.text().strip()
        if self.transcript.text().strip():
            options["transcript"] = self.transcript.text().strip()
        return options | self.export_options()

    def generation_options(self) -> dict[str, Any]:
        """sampling_options plus ranking by the prompt (everything but vary has one)."""
        options = self.sampling_options()
        if self.rerank.isChecked() and self.variations.value() > 1:
            options["rerank"] = 1
        return options

    def generate(self) -> str | None:
        prompt = self.prompt.toPlainText().strip()
        if not prompt:
            self.show_message("type a prompt first: what should it sound like?")
            self.prompt.setFocus()
            return None
        options = self.generation_options()
        if self.length_unit.currentText() == "bars":
            options["bars"] = self.duration.value()
            if not self.use_daw_tempo.isChecked():
                options["bpm"] = self.bpm.value()
        else:
            options["duration"] = self.duration.value()
        return self.submit("generate", [prompt], options)

    def submit(self, kind: str, values: list[str], options: dict[str, Any]) -> str | None:
        request_id = f"app-{uuid.uuid4().hex[:10]}"
        try:
            self.link.submit(kind, request_id, values, options)
        except ProtocolError as error:
            self.show_message(f"{kind}: {error.message}")
            return None
        return request_id

    # ---- editing a clip --------------------------------------------------------------------------

    def choose_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a clip", "", "Audio (*.wav *.aif *.aiff *.flac)")
        if path:
            self.open_clip(path)

    def open_clip(self, path: str) -> None:
        def loaded(clip: Any) -> None:
            self.clip_path = path
            self.clip_audio = LoadedAudio(path, clip.audio, clip.sample_rate)
            self.clip_view.set_audio(clip.audio, clip.sample_rate)
            self.clip_label.setText(
                f"{path}\n{clip.duration_s:.2f} s, {clip.sample_rate} Hz, {clip.channels} ch"
            )
            self.left_tabs.setCurrentIndex(1)

        run_in_background(
            lambda: read_clip(Path(path), MAX_DURATION_S), loaded, lambda message: self.show_message(message)
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if not paths:
            self.show_message("only files can be dropped here")
            return
        self.open_clip(paths[0])
        event.acceptProposedAction()

    def _clip_selection_changed(self, start: float, end: float) -> None:
        text = (
            f"Selection: {start:.3f}-{end:.3f} s"
            if end > start
            else "Selection: none (drag over the waveform)"
        )
        self.selection_label.setText(text)

    def edit_clip(self, kind: str) -> str | None:
        if self.clip_path is None:
            self.show_message(f"{kind}: open or drop a clip first")
            return None
        prompt = self.prompt.toPlainText().strip()
        if kind != "vary" and not prompt:
            self.show_message(f"{kind}: type a prompt in the Ask tab first")
            return None
        options = (
            self.sampling_options() if kind == "vary" else self.generation_options()
        )  # vary has no prompt
        if kind == "transfer":
            options["strength"] = self.strength.value() / 100
        elif kind == "extend":
            options["seconds"] = self.extend_seconds.value()
        elif kind == "inpaint":
            if self.clip_view.selection is None:
                self.show_message("inpaint: drag over the clip's waveform to select the region to replace")
                return None
            options["start"], options["end"] = self.clip_view.selection
        values = [self.clip_path] if kind == "vary" else [self.clip_path, prompt]
        return self.submit(kind, values, options)

    # ---- jobs ------------------------------------------------------------------------------------

    def on_job_queued(self, request_id: str, command: Any, origin: str) -> None:
        prompt = command.prompt or Path(command.input).name
        self.jobs.add(JobRow(request_id, command.kind, prompt, origin))
        self.history.add_job(
            JobRecord(request_id, command.kind, command.prompt, command.input, dict(command.options),
                      origin, "queued", "", time.time())
        )  # fmt: skip
        if origin != "app":
            self.show_message(f"{origin}: {command.kind} {request_id}")
        self.refresh_history()

    def on_job_event(self, request_id: str, event: str, payload: Any) -> None:
        if event == "progress":
            number = self.jobs.row_of(request_id)
            if number is not None and self.jobs.rows[number].state == "queued":
                self.history.set_state(request_id, "running")
            self.jobs.update(request_id, state="running", fraction=payload[0])
        elif event == "done":
            results: list[ResultFile] = payload
            files = [result.path for result in results]
            row = self.jobs.update(request_id, state="done", fraction=1.0, files=files)
            self.history.set_state(request_id, "done")
            for position, result in enumerate(results):
                take = Take(
                    result.path, request_id, result.duration_s, result.sample_rate, result.seed, row.prompt
                )
                self.history.add_take(
                    TakeRecord(take.path, request_id, take.duration_s, take.sample_rate, take.seed, False),
                    position,
                )
                self.add_take(take)
            self.refresh_history()
        elif event == "error":
            code, message = payload
            state = "cancelled" if code == "cancelled" else "failed"
            self.jobs.update(request_id, state=state, detail=message)
            self.history.set_state(request_id, state, message)
            self.show_message(f"{request_id} {state}: {message}")
            self.refresh_history()

    def cancel_selected_job(self) -> None:
        index = self.jobs_view.currentIndex()
        if not index.isValid():
            self.show_message("select a job to cancel")
            return
        row = self.jobs.rows[index.row()]
        if not self.link.cancel(row.request_id):
            self.show_message(f"{row.request_id} is not queued or running")

    # ---- takes -----------------------------------------------------------------------------------

    def add_take(self, take: Take, select: bool = True) -> None:
        index = self.takes.add(take)
        if select and not self.takes_view.currentIndex().isValid():
            self.takes_view.setCurrentIndex(index)

        def described(provenance: Any) -> None:
            if provenance:
                take.score = provenance.get("score")
                take.prompt = provenance.get("prompt") or take.prompt
            self.takes.changed(take)

        def drawn(image: Any) -> None:
            take.thumbnail = image
            self.takes.changed(take)

        run_in_background(lambda: read_file_provenance(Path(take.path)), described, self.show_message)
        run_in_background(lambda: make_thumbnail(take.path), drawn, self.show_message)

    def current_take(self) -> Take | None:
        index = self.takes_view.currentIndex()
        return self.takes.takes[index.row()] if index.isValid() else None

    def select_take(self, index: Any) -> None:
        if not index.isValid():
            return
        take = self.takes.takes[index.row()]
        self.ab_pair = [*(t for t in self.ab_pair if t is not take), take][-2:]

        def loaded(audio: LoadedAudio) -> None:
            if self.current_take() is take:
                self.loaded = audio
                self.take_view.set_audio(audio.audio, audio.sample_rate)

        run_in_background(lambda: load_take_audio(take.path), loaded, self.show_message)
        provenance = read_file_provenance(Path(take.path)) or {}
        fx = provenance.get("fx")
        try:
            chain = parse_chain(fx, Path(take.path).parent) if fx else EffectChain()
        except PresetError:
            chain = EffectChain()
        self.chain_editor.blockSignals(True)
        self.chain_editor.set_chain(chain)
        self.chain_editor.blockSignals(False)

    def toggle_play(self) -> None:
        if self.player.playing:
            self.player.stop()
            self.play_button.setText("Play  (Space)")
            return
        self.play_current()

    def play_current(self, start_s: float = 0.0) -> bool:
        if self.loaded is None or self.current_take() is None or self.loaded.path != self.current_take().path:
            self.show_message("select a take to play (its audio is still loading if you just did)")
            return False
        try:
            self.player.play(self.loaded.audio, self.loaded.sample_rate, start_s)
        except PlayerError as error:
            self.show_message(str(error))
            return False
        self.play_button.setText("Stop  (Space)")
        return True

    def seek(self, seconds: float) -> None:
        if self.player.playing:
            self.player.seek(seconds)
        else:
            self.play_current(seconds)

    def switch_ab(self) -> None:
        if len(self.ab_pair) < 2:
            self.show_message("A/B: select two takes, one after the other")
            return
        position = self.player.position_s if self.player.playing else 0.0
        other = self.ab_pair[0]
        self.takes_view.setCurrentIndex(self.takes.index(self.takes.takes.index(other)))

        def loaded(audio: LoadedAudio) -> None:
            self.loaded = audio
            self.take_view.set_audio(audio.audio, audio.sample_rate)
            self.play_current(min(position, len(audio.audio) / audio.sample_rate))

        run_in_background(lambda: load_take_audio(other.path), loaded, self.show_message)

    def send_to_daw(self) -> None:
        """Offer the take to the DAW: REAPER's and Ardour's "Receive takes" actions place it at the edit
        cursor; an OSC listener on the port set in Settings gets `/soundloom/take`. Live cannot receive
        one (AbletonOSC has no audio-clip creation), so the message says to drag it."""
        take = self.current_take()
        if take is None:
            self.show_message("Send to DAW: select a take first")
            return
        pushed = [take.path, float(take.duration_s), int(take.sample_rate)]
        self.link.push_take(*pushed)
        port = self.daw_port.value()
        if port:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(encode(PREFIX + "take", pushed), ("127.0.0.1", port))
        also = f" and to OSC port {port}" if port else ""
        self.show_message(
            f"sent {take.name} to REAPER's and Ardour's \"Receive takes\" actions{also}; "
            "in Live, drag it from the takes list or the output folder (Live cannot receive takes)"
        )

    def reveal_take(self) -> None:
        take = self.current_take()
        if take is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(take.path).parent)))

    def star_take(self) -> None:
        take = self.current_take()
        if take is not None:
            take.starred = not take.starred
            self.history.star(take.path, take.starred)
            self.takes.changed(take)

    def rename_take(self, new_name: str | None = None) -> None:
        take = self.current_take()
        if take is None:
            return
        if new_name is None:
            new_name, ok = QInputDialog.getText(self, "Rename take", "New name", text=Path(take.path).stem)
            if not ok:
                return
        new_name = new_name.strip()
        old = Path(take.path)
        target = old.with_name(f"{new_name}{old.suffix}")
        if not new_name or any(mark in new_name for mark in "/\\") or new_name.startswith("."):
            self.show_message(f"rename: {new_name!r} is not a file name")
            return
        if target.exists():
            self.show_message(f"rename: {target.name} already exists; nothing was overwritten")
            return
        try:
            old.rename(target)
        except OSError as error:
            self.show_message(f"rename: {error.strerror}")
            return
        self.history.move_take(str(old), str(target))
        take.path = str(target)
        self.takes.changed(take)

    # ---- shaping ---------------------------------------------------------------------------------

    def apply_effect_preset(self, name: str) -> None:
        try:
            chain = EffectChain() if name.startswith("(") else self.library.effect(name)
        except PresetError as error:
            self.show_message(str(error))
            return
        self.chain_editor.set_chain(chain)
        self.rerender_take()

    def rerender_take(self) -> None:
        take = self.current_take()
        if take is None:
            self.show_message("shape: select a take first")
            return
        source = take.shaped_from or take.path
        try:
            chain = self.chain_editor.chain()
        except PresetError as error:
            self.show_message(str(error))
            return
        delivery = Delivery(chain, self.export_settings(), "{prompt}_{seed}_{variation}_{fx}", keep_dry=False)
        output = self.link.service.output

        def rendered(delivered: Any) -> None:
            item = delivered[0]
            rendered_audio = item.rendered
            shaped = Take(
                str(item.path), take.request_id, rendered_audio.duration_s, rendered_audio.sample_rate,
                take.seed, take.prompt, take.score, shaped_from=source,
            )  # fmt: skip
            self.history.add_take(
                TakeRecord(
                    shaped.path, take.request_id, shaped.duration_s, shaped.sample_rate, take.seed, False
                ),
                len(self.takes.for_job(take.request_id)),
            )
            self.add_take(shaped, select=False)
            self.show_message(f"re-rendered {Path(source).name} through {chain.name}: {item.path.name}")

        def failed(message: str) -> None:
            self.show_message(f"re-render: {message}")

        run_in_background(lambda: rerender(Path(source), output, delivery), rendered, failed)

    # ---- history ---------------------------------------------------------------------------------

    def refresh_history(self) -> None:
        records = self.history.jobs(self.history_search.text())
        self.history_model.set_records(records)

    def selected_history(self) -> JobRecord | None:
        rows = self.history_table.selectionModel().selectedRows()
        return self.history_model.records[rows[0].row()] if rows else None

    def show_history_takes(self) -> None:
        record = self.selected_history()
        if record is None:
            return
        known = {take.path for take in self.takes.takes}
        for stored in self.history.takes(record.request_id):
            if stored.path not in known and Path(stored.path).is_file():
                self.add_take(
                    Take(stored.path, stored.request_id, stored.duration_s, stored.sample_rate, stored.seed,
                         record.prompt, starred=stored.starred),
                    select=False,
                )  # fmt: skip

    def rerun_history(self, new_seed: bool) -> str | None:
        record = self.selected_history()
        if record is None:
            self.show_message("select a job in the history first")
            return None
        options = dict(record.options)
        options.pop("reply_port", None)
        if new_seed:
            options["seed"] = random.randrange(2**31 - 1)
        values = {"generate": [record.prompt], "vary": [record.input]}.get(
            record.kind, [record.input, record.prompt]
        )
        return self.submit(record.kind, values, options)

    # ---- status ----------------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.time()
        self.engine_label.setText(self.link.engine_status())
        self.daw_label.setText(self.link.daw_status(now))
        if self.player.playing:
            self.take_view.set_playhead(self.player.position_s)
        elif self.play_button.text().startswith("Stop"):
            self.play_button.setText("Play  (Space)")
            self.take_view.set_playhead(None)
            if self.player.error:
                self.show_message(self.player.error)
                self.player.error = ""

    def closeEvent(self, event: Any) -> None:
        self.player.stop()
        self._save_settings()
        super().closeEvent(event)
