"""Ask: the prompt and every generation setting, with ranges and defaults from the engine's limits table,
and prompt presets applied whole (prompt, negative, length, steps, guidance, sampler, variations, loop,
effect chain)."""

from __future__ import annotations

import random
from html import escape
from typing import Any

from PyQt6.QtCore import QRegularExpression, pyqtSignal
from PyQt6.QtGui import QGuiApplication, QRegularExpressionValidator
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...engine.licence import Licence
from ...engine.limits import DURATION_S, GUIDANCE_SCALE, NEW_SEEDS, SAMPLER, SEED, STEPS, VARIATIONS
from ...host_bridge.daw.tempo import BPM_RANGE, MAX_BARS
from ...presets import PresetError, PresetLibrary
from ...presets.prompts import PromptPreset
from ..takes import NONCOMMERCIAL_COLOUR

NO_PRESET = "(no prompt preset)"


def spin(limit: Any, step: float = 1.0, decimals: int = 2) -> QSpinBox | QDoubleSpinBox:
    """A spin box holding exactly the limit's range, at its default."""
    box = QSpinBox() if limit.whole else QDoubleSpinBox(decimals=decimals, singleStep=step)
    box.setRange(int(limit.low) if limit.whole else limit.low, int(limit.high) if limit.whole else limit.high)
    if limit.default is not None:
        box.setValue(limit.default)
    return box


class SeedEdit(QLineEdit):
    """The seed as digits: a QSpinBox stops at 2**31 - 1, and the engine takes seeds up to 2**63 - 1."""

    def __init__(self) -> None:
        super().__init__("0")
        self.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{1,19}")))  # 2**63 has 19

    def value(self) -> int | None:
        """The seed typed, or None when it is not a whole number in the engine's seed range."""
        text = self.text().strip()
        if not text.isdigit():
            return None
        value = int(text)
        return value if SEED.problem(value) is None else None

    def setValue(self, value: int) -> None:
        self.setText(str(value))


class AskPanel(QWidget):
    generate_requested = pyqtSignal()
    model_chosen = pyqtSignal(str)
    fx_suggested = pyqtSignal(str)  # a prompt preset's effect chain
    message = pyqtSignal(str)

    def __init__(self, library: PresetLibrary, models: list[str], saved_folders: list[str]):
        super().__init__()
        self.library = library
        self.fx: str | None = None  # the applied prompt preset's effect chain, rendered into its takes
        self.prompt = QPlainTextEdit(
            placeholderText="Describe the sound: 'heavy wooden door slams in a stone hall'"
        )
        self.prompt.setFixedHeight(70)
        self.negative = QLineEdit(placeholderText="negative prompt (what to avoid)")
        self.transcript = QLineEdit(placeholderText="speech checkpoints only: the words to speak")
        self.prompt_preset = QComboBox()
        self.prompt_preset.addItem(NO_PRESET)
        self.prompt_preset.addItems(sorted(entry.preset.name for entry in library.prompts.values()))
        self.prompt_preset.currentTextChanged.connect(self.apply_prompt_preset)
        self.length_unit = QComboBox()
        self.length_unit.addItems(["seconds", "bars"])
        self.duration = spin(DURATION_S, step=0.5)
        self.duration.setValue(5.0)
        self.length_unit.currentTextChanged.connect(self._length_unit_changed)
        self.bpm = QDoubleSpinBox(
            minimum=BPM_RANGE[0], maximum=BPM_RANGE[1], value=120, decimals=1, suffix=" BPM"
        )
        self.use_daw_tempo = QCheckBox("from DAW")
        self.use_daw_tempo.setToolTip("bars at the tempo the DAW last sent (OSC or MIDI clock)")
        self.steps = spin(STEPS)
        self.guidance = spin(GUIDANCE_SCALE, step=0.5)
        self.sampler = QComboBox()
        self.sampler.addItems(SAMPLER.choices)
        self.sampler.setCurrentText(SAMPLER.default)
        self.seed = SeedEdit()
        self.seed_locked = QCheckBox("lock")
        copy_seed = QPushButton("Copy")
        copy_seed.setToolTip("copy the seed to the clipboard")
        copy_seed.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.seed.text()))
        self.variations = spin(VARIATIONS)
        self.rerank = QCheckBox("best first")
        self.rerank.setToolTip("order the takes by CLAP text-audio score (needs CLAP's audio branch)")
        self.loop = QCheckBox("seamless loop")
        self.model = QComboBox(editable=False)
        self.model.addItems(models)
        self.model.currentTextChanged.connect(self.model_chosen)
        self.saved_folders = saved_folders
        self.licence = QLabel("reading the model card…", openExternalLinks=True, wordWrap=True)
        self.licence_of: tuple[str, Licence] | None = None  # (model, what its card says) once read
        add_model = QPushButton("Folder…")
        add_model.clicked.connect(lambda: self.add_model_folder())
        self.generate_button = QPushButton("Generate  (Ctrl+Enter)")
        self.generate_button.clicked.connect(self.generate_requested)
        self._lay_out(copy_seed, add_model)

    def _lay_out(self, copy_seed: QPushButton, add_model: QPushButton) -> None:
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Negative", self.negative)
        form.addRow("Transcript", self.transcript)
        form.addRow("Preset", self.prompt_preset)
        form.addRow("Length", row(self.duration, self.length_unit, self.loop))
        form.addRow("Tempo", row(self.bpm, self.use_daw_tempo))
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        form.addRow("Sampler", self.sampler)
        form.addRow("Seed", row(self.seed, self.seed_locked, copy_seed))
        form.addRow("Variations", row(self.variations, self.rerank))
        form.addRow("Model", row(self.model, add_model))
        form.addRow("Licence", self.licence)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.generate_button)
        layout.addStretch(1)

    def _length_unit_changed(self, unit: str) -> None:
        # Seconds are the engine's limit; bars are converted at the tempo, which the bridge checks.
        self.duration.setRange(DURATION_S.low, DURATION_S.high if unit == "seconds" else MAX_BARS)

    def apply_prompt_preset(self, name: str) -> None:
        if name == NO_PRESET:
            self.fx = None
            return
        try:
            preset = self.library.prompt(name)
        except PresetError as error:
            self.message.emit(str(error))
            return
        self.apply(preset)

    def apply(self, preset: PromptPreset) -> None:
        """Every field the preset sets; the ones it leaves out keep what the user had."""
        self.prompt.setPlainText(preset.template)
        self.negative.setText(preset.negative_prompt)
        settings = preset.settings
        if "duration_s" in settings:
            self.length_unit.setCurrentText("seconds")
            self.duration.setValue(settings["duration_s"])
        for key, box in (
            ("steps", self.steps),
            ("guidance_scale", self.guidance),
            ("variations", self.variations),
        ):
            if key in settings:
                box.setValue(settings[key])
        if "sampler" in settings:
            self.sampler.setCurrentText(settings["sampler"])
        if "loop" in settings:
            self.loop.setChecked(settings["loop"])
        self.fx = preset.fx
        if preset.fx:
            self.fx_suggested.emit(preset.fx)

    def add_model_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Checkpoint folder")
        if folder:
            if self.model.findText(folder) < 0:
                self.model.addItem(folder)
                self.saved_folders.append(folder)
            self.model.setCurrentText(folder)

    def show_licence(self, model: str, licence: Licence) -> None:
        """What the chosen model's card says of its licence, beside the picker; a non-commercial one is
        marked. An answer for a model no longer chosen is dropped."""
        if model != self.model.currentText():
            return
        self.licence_of = (model, licence)
        text = escape(licence.title)
        if licence.link:
            text = f'<a href="{escape(licence.link, quote=True)}">{text}</a>'
        if licence.noncommercial:
            text = f'<span style="color:{NONCOMMERCIAL_COLOUR}"><b>⚠ non-commercial</b></span> · {text}'
        self.licence.setText(text)
        self.licence.setToolTip(licence.evidence or licence.source)

    def sampling_fields(self) -> dict[str, Any] | None:
        """The JobSpec fields every job takes (vary has no prompt to rank by); None when the seed is bad."""
        if not self.seed_locked.isChecked():
            self.seed.setValue(random.randrange(NEW_SEEDS))
        seed = self.seed.value()
        if seed is None:
            self.message.emit(f"the seed must be a whole number between {SEED.span()}")
            return None
        fields: dict[str, Any] = {
            "seed": seed,
            "steps": self.steps.value(),
            "guidance_scale": self.guidance.value(),
            "sampler": self.sampler.currentText(),
            "variations": self.variations.value(),
        }
        if self.negative.text().strip():
            fields["negative_prompt"] = self.negative.text().strip()
        if self.transcript.text().strip():
            fields["transcript"] = self.transcript.text().strip()
        return fields

    def generation_fields(self) -> dict[str, Any] | None:
        """sampling_fields plus ranking by the prompt and the effect preset (everything but vary)."""
        fields = self.sampling_fields()
        if fields is not None and self.rerank.isChecked() and self.variations.value() > 1:
            fields["rerank"] = True
        if fields is not None and self.fx:
            fields["fx"] = self.fx
        return fields

    def length_fields(self) -> dict[str, Any]:
        if self.length_unit.currentText() == "bars":
            fields: dict[str, Any] = {"bars": self.duration.value()}
            if not self.use_daw_tempo.isChecked():
                fields["bpm"] = self.bpm.value()
            return fields
        return {"duration_s": self.duration.value()}

    def prompt_text(self) -> str:
        return self.prompt.toPlainText().strip()


def row(*widgets: QWidget) -> QHBoxLayout:
    """Widgets side by side, the first one stretching."""
    layout = QHBoxLayout()
    for position, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if position == 0 else 0)
    return layout
