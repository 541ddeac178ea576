"""Settings: output folder, the bridge's port, the audio output, export format and the Send-to-DAW port;
saved in QSettings and restored at start."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QSettings, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

from ...presets import ExportSettings
from ...presets.render import LOUDNESS_RANGE_LUFS
from ..player import Player, output_devices, output_problem

RATES = ("48000", "44100", "96000", "16000")
BIT_DEPTHS = ("24", "16", "32f")
# Qt shows a spin box's special text at its minimum, so "off" is the minimum: the floor of the loudness
# range, which is no valid target (a target must be above it). Every value above it is a real target.
LOUDNESS_OFF = LOUDNESS_RANGE_LUFS[0]
LOUDNESS_KEY = "export/loudness_lufs"  # "off" or a target
OLD_LOUDNESS_KEY = "export/loudness"  # before 2026-12: 0 meant off, and -60 showed as "off"


class SettingsPanel(QWidget):
    message = pyqtSignal(str)

    def __init__(self, settings: QSettings, output: str, default_osc_port: int, player: Player):
        super().__init__()
        self.settings, self.player = settings, player
        self._restoring = True
        self.output_label = QLabel(output)
        self.output_label.setWordWrap(True)
        self.osc_port = QSpinBox(minimum=0, maximum=65535)
        self.device_choice = QComboBox()
        default = "System default" if not output_problem(None) else "System default (no output found)"
        self.device_choice.addItem(default, None)
        for device in output_devices():
            self.device_choice.addItem(device.name, device.index)
        self.device_choice.currentIndexChanged.connect(self.change_device)
        self.export_rate = QComboBox()
        self.export_rate.addItems(RATES)
        self.export_bits = QComboBox()
        self.export_bits.addItems(BIT_DEPTHS)
        self.export_loudness = QDoubleSpinBox(
            minimum=LOUDNESS_OFF,
            maximum=LOUDNESS_RANGE_LUFS[1],
            value=LOUDNESS_OFF,
            decimals=1,
            suffix=" LUFS",
            specialValueText="off",
        )
        self.daw_port = QSpinBox(minimum=0, maximum=65535, specialValueText="off")
        form = QFormLayout(self)
        form.addRow("Output folder", self.output_label)
        form.addRow("OSC port (next start)", self.osc_port)
        form.addRow("Audio output", self.device_choice)
        form.addRow("Export rate", self.export_rate)
        form.addRow("Bit depth", self.export_bits)
        form.addRow("Loudness", self.export_loudness)
        form.addRow("Send to DAW port", self.daw_port)
        for widget in (self.osc_port, self.daw_port, self.export_loudness):
            widget.valueChanged.connect(self.save)
        for combo in (self.export_rate, self.export_bits):
            combo.currentTextChanged.connect(self.save)
        self.default_osc_port = default_osc_port

    def restore(self) -> None:
        values = self.settings
        self._restoring = True  # setting the widgets fires their save signals; save nothing half-restored
        self.osc_port.setValue(int(values.value("osc/port", self.default_osc_port)))
        self.daw_port.setValue(int(values.value("daw/port", 0)))
        self.export_rate.setCurrentText(str(values.value("export/rate", "48000")))
        self.export_bits.setCurrentText(str(values.value("export/bit_depth", "24")))
        self.export_loudness.setValue(saved_loudness(values))
        device = values.value("audio/device", "")
        if device:
            found = self.device_choice.findText(str(device))
            if found < 0:
                self.message.emit(f"the audio output {device!r} is gone; playing through the system default")
            else:
                self.device_choice.setCurrentIndex(found)
        self._restoring = False

    def save(self) -> None:
        if self._restoring:
            return
        values = self.settings
        values.setValue("osc/port", self.osc_port.value())
        values.setValue("daw/port", self.daw_port.value())
        values.setValue("export/rate", self.export_rate.currentText())
        values.setValue("export/bit_depth", self.export_bits.currentText())
        loudness = self.export_settings().loudness_lufs
        values.setValue(LOUDNESS_KEY, "off" if loudness is None else loudness)
        values.setValue(
            "audio/device", self.device_choice.currentText() if self.device_choice.currentIndex() else ""
        )

    def change_device(self) -> None:
        self.player.stop()
        self.player.device = self.device_choice.currentData()
        self.save()

    def export_fields(self) -> dict[str, Any]:
        """The export settings as a JobSpec's fields."""
        export = self.export_settings()
        fields: dict[str, Any] = {"rate": export.sample_rate, "bit_depth": export.bit_depth}
        if export.loudness_lufs is not None:
            fields["loudness"] = export.loudness_lufs
        return fields

    def export_settings(self) -> ExportSettings:
        loudness = self.export_loudness.value()
        return ExportSettings(
            sample_rate=int(self.export_rate.currentText()),
            bit_depth=self.export_bits.currentText(),
            loudness_lufs=loudness if loudness > LOUDNESS_OFF else None,
        )


def saved_loudness(values: QSettings) -> float:
    """The saved loudness target for the box (LOUDNESS_OFF: off). A value saved before 2026-12 is read
    as the user saw it then: 0 and -60 both showed as off."""
    saved = values.value(LOUDNESS_KEY)
    target = _number(saved if saved is not None else values.value(OLD_LOUDNESS_KEY))
    if saved is None and target in (0.0, -60.0):
        return LOUDNESS_OFF
    low, high = LOUDNESS_RANGE_LUFS
    return target if target is not None and low < target <= high else LOUDNESS_OFF


def _number(value: object) -> float | None:
    """A saved value as a number; None for "off", nothing, or anything else a hand edit left there."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
