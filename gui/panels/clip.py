"""Edit clip: the clip a user opened or dropped, its waveform with a selection, and the four edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...engine.clip import read_clip
from ...engine.limits import EXTEND_S, MAX_DURATION_S, STRENGTH
from ..background import run_in_background
from ..waveform import WaveformView
from .ask import row, spin

EDITS = (
    ("Style transfer", "transfer"),
    ("Inpaint selection", "inpaint"),
    ("Extend", "extend"),
    ("Variations", "vary"),
)
STRENGTH_STEPS = 100  # the slider's resolution over STRENGTH's range


class ClipPanel(QWidget):
    edit_requested = pyqtSignal(str)  # the operation
    clip_opened = pyqtSignal()
    message = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.clip_path: str | None = None
        self.label = QLabel("No clip. Open one, or drop a WAV/AIFF/FLAC on the window.")
        self.label.setWordWrap(True)
        open_button = QPushButton("Open clip…")
        open_button.clicked.connect(self.choose_clip)
        self.view = WaveformView("Open or drop a WAV, AIFF or FLAC")
        self.view.selection_changed.connect(self._selection_changed)
        self.selection_label = QLabel("Selection: none (drag over the waveform)")
        self.strength = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=STRENGTH_STEPS)
        self.strength.setValue(round(STRENGTH.default * STRENGTH_STEPS))
        self.strength_label = QLabel(f"{STRENGTH.default:.2f}")
        self.strength.valueChanged.connect(
            lambda _: self.strength_label.setText(f"{self.strength_value():.2f}")
        )
        self.extend_seconds = spin(EXTEND_S, step=0.5)
        self.extend_seconds.setSuffix(" s")
        # Its own prompt: what the clip becomes is rarely what the Ask tab was generating.
        self.prompt = QLineEdit(placeholderText="what the clip becomes, or what fills the selection")
        actions = QGroupBox("Run on the clip (steps, guidance and seed from the Ask tab)")
        grid = QFormLayout(actions)
        grid.addRow("Prompt", self.prompt)
        grid.addRow("Strength", row(self.strength, self.strength_label))
        grid.addRow("Extend by", self.extend_seconds)
        buttons = QHBoxLayout()
        for label, kind in EDITS:
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, kind=kind: self.edit_requested.emit(kind))
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(open_button)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.selection_label)
        layout.addWidget(actions)
        layout.addLayout(buttons)

    def strength_value(self) -> float:
        return STRENGTH.low + (STRENGTH.high - STRENGTH.low) * self.strength.value() / STRENGTH_STEPS

    def choose_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a clip", "", "Audio (*.wav *.aif *.aiff *.flac)")
        if path:
            self.open_clip(path)

    def open_clip(self, path: str) -> None:
        def loaded(clip: Any) -> None:
            self.clip_path = path
            self.view.set_audio(clip.audio, clip.sample_rate)
            self.label.setText(f"{path}\n{clip.duration_s:.2f} s, {clip.sample_rate} Hz, {clip.channels} ch")
            self.clip_opened.emit()

        run_in_background(lambda: read_clip(Path(path), MAX_DURATION_S), loaded, self.message.emit)

    def _selection_changed(self, start: float, end: float) -> None:
        text = (
            f"Selection: {start:.3f}-{end:.3f} s"
            if end > start
            else "Selection: none (drag over the waveform)"
        )
        self.selection_label.setText(text)

    def edit_fields(self, kind: str) -> dict[str, Any] | None:
        """The operation's own JobSpec fields (strength, seconds, region); None with a message when it
        cannot run."""
        if kind == "transfer":
            return {"strength": self.strength_value()}
        if kind == "extend":
            return {"extend_s": self.extend_seconds.value()}
        if kind == "inpaint":
            if self.view.selection is None:
                self.message.emit("inpaint: drag over the clip's waveform to select the region to replace")
                return None
            start, end = self.view.selection
            return {"start_s": start, "end_s": end}
        return {}
