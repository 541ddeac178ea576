"""The effect chain of the selected take as an editable list: add, remove, reorder, bypass, parameters.

Each edit emits `chain_changed` with a checked EffectChain (parse_chain validates it, as for a preset
file); a value Pedalboard would refuse shows as `error` instead.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..presets import BUILTIN_EFFECTS, Effect, EffectChain, PresetError
from ..presets.effects import PLUGIN, parse_chain

SLIDER_STEPS = 1000


def _to_slider(value: float, low: float, high: float, logarithmic: bool) -> int:
    if logarithmic:
        value, low, high = math.log(max(value, low)), math.log(low), math.log(high)
    return round((value - low) / (high - low) * SLIDER_STEPS)


def _from_slider(position: int, low: float, high: float, logarithmic: bool) -> float:
    fraction = position / SLIDER_STEPS
    if logarithmic:
        return math.exp(math.log(low) + fraction * (math.log(high) - math.log(low)))
    return low + fraction * (high - low)


class ChainEditor(QWidget):
    chain_changed = pyqtSignal(object)  # EffectChain
    error = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.effects: list[Effect] = []
        self.chain_name = "custom"
        self.effect_list = QListWidget()
        self.effect_list.currentRowChanged.connect(self._show_parameters)
        self.effect_list.itemChanged.connect(self._bypass_toggled)
        self.add_choice = QComboBox()
        self.add_choice.addItems(sorted(BUILTIN_EFFECTS))
        buttons = QHBoxLayout()
        self.add_button, self.remove_button = QPushButton("Add"), QPushButton("Remove")
        self.up_button, self.down_button = QPushButton("Up"), QPushButton("Down")
        for button, slot in (
            (self.add_button, self._add),
            (self.remove_button, self._remove),
            (self.up_button, lambda: self._move(-1)),
            (self.down_button, lambda: self._move(1)),
        ):
            button.clicked.connect(slot)
            buttons.addWidget(button)
        self.parameters = QFormLayout()
        parameter_box = QWidget()
        parameter_box.setLayout(self.parameters)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        adder = QHBoxLayout()
        adder.addWidget(self.add_choice, 1)
        layout.addLayout(adder)
        layout.addLayout(buttons)
        layout.addWidget(self.effect_list, 1)
        layout.addWidget(parameter_box, 2)

    def set_chain(self, chain: EffectChain) -> None:
        self.chain_name = chain.name
        self.effects = list(chain.effects)
        self._refill(0 if self.effects else -1)

    def chain(self) -> EffectChain:
        """The chain as edited, validated like a preset file (PresetError names the bad field)."""
        data = {"name": self.chain_name, "effect": [effect.to_dict() for effect in self.effects]}
        return parse_chain(data, Path.cwd())

    def _refill(self, current: int) -> None:
        self.effect_list.blockSignals(True)
        self.effect_list.clear()
        for effect in self.effects:
            item = QListWidgetItem(effect.plugin_name or effect.type)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if effect.bypass else Qt.CheckState.Checked)
            item.setToolTip("tick: active; untick: bypassed")
            self.effect_list.addItem(item)
        self.effect_list.blockSignals(False)
        self.effect_list.setCurrentRow(current)
        self._show_parameters(current)

    def _emit(self) -> None:
        try:
            self.chain_changed.emit(self.chain())
        except PresetError as error:
            self.error.emit(str(error))

    def _add(self) -> None:
        kind = self.add_choice.currentText()
        params = {name: param.default for name, param in BUILTIN_EFFECTS[kind].items()}
        if kind == "Convolution":
            params.pop("impulse_response")  # the user picks a file; an empty path is not one
        self.effects.append(Effect(kind, params))
        self._refill(len(self.effects) - 1)
        self._emit()

    def _remove(self) -> None:
        row = self.effect_list.currentRow()
        if 0 <= row < len(self.effects):
            del self.effects[row]
            self._refill(min(row, len(self.effects) - 1))
            self._emit()

    def _move(self, step: int) -> None:
        row = self.effect_list.currentRow()
        target = row + step
        if 0 <= row < len(self.effects) and 0 <= target < len(self.effects):
            self.effects[row], self.effects[target] = self.effects[target], self.effects[row]
            self._refill(target)
            self._emit()

    def _bypass_toggled(self, item: QListWidgetItem) -> None:
        row = self.effect_list.row(item)
        bypass = item.checkState() != Qt.CheckState.Checked
        if self.effects[row].bypass != bypass:
            self.effects[row] = replace(self.effects[row], bypass=bypass)
            self._emit()

    def set_parameter(self, row: int, name: str, value: Any) -> None:
        effect = self.effects[row]
        if effect.params.get(name) != value:
            self.effects[row] = replace(effect, params={**effect.params, name: value})
            self._emit()

    def _show_parameters(self, row: int) -> None:
        while self.parameters.rowCount():
            self.parameters.removeRow(0)
        if not 0 <= row < len(self.effects):
            return
        effect = self.effects[row]
        if effect.type == PLUGIN:
            for name, value in effect.params.items():
                self.parameters.addRow(name, QLineEdit(str(value), readOnly=True))
            return
        for name, param in BUILTIN_EFFECTS[effect.type].items():
            value = effect.params.get(name, param.default)
            self.parameters.addRow(name.replace("_", " "), self._editor(row, name, param, value))

    def _editor(self, row: int, name: str, param: Any, value: Any) -> QWidget:
        if param.choices:
            combo = QComboBox()
            combo.addItems(param.choices)
            combo.setCurrentText(str(value))
            combo.currentTextChanged.connect(lambda text: self.set_parameter(row, name, text))
            return combo
        if isinstance(param.default, str):
            line = QLineEdit(str(value))
            line.editingFinished.connect(lambda: self.set_parameter(row, name, line.text()))
            return line
        low, high = param.low, param.high
        logarithmic = param.unit == "Hz" and low > 0
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setDecimals(3 if high - low <= 10 else 1)
        spin.setSuffix(f" {param.unit}" if param.unit else "")
        spin.setValue(float(value))
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, SLIDER_STEPS)
        slider.setValue(_to_slider(float(value), low, high, logarithmic))
        slider.valueChanged.connect(
            lambda position: spin.setValue(_from_slider(position, low, high, logarithmic))
        )
        spin.valueChanged.connect(lambda number: self.set_parameter(row, name, round(number, 4)))
        box = QWidget()
        line = QHBoxLayout(box)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(slider, 2)
        line.addWidget(spin, 1)
        return box
