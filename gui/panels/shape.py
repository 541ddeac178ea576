"""Shape: the selected take's effect chain; every edit re-renders its dry take into a new take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ...host_bridge.delivery.deliver import Delivery, rerender
from ...host_bridge.delivery.provenance import read_file_provenance
from ...presets import EffectChain, ExportSettings, PresetError, PresetLibrary
from ...presets.effects import parse_chain
from ..background import run_in_background
from ..chain_editor import ChainEditor
from ..takes import Take

DRY = "(dry)"
SHAPED_NAME = "{prompt}_{seed}_{variation}_{fx}"


class ShapePanel(QWidget):
    shaped = pyqtSignal(object, object)  # the new Take, the Take it was shaped from
    message = pyqtSignal(str)

    def __init__(self, library: PresetLibrary, output: Path, export: Callable[[], ExportSettings]):
        super().__init__()
        self.library, self.output, self.export = library, output, export
        self.take: Take | None = None
        self.effect_preset = QComboBox()
        self.effect_preset.addItem(DRY)
        self.effect_preset.addItems(sorted(entry.preset.name for entry in library.effects.values()))
        self.effect_preset.textActivated.connect(self.apply_effect_preset)
        self.chain_editor = ChainEditor()
        self.rerender_timer = QTimer(self, singleShot=True, interval=250, timeout=self.rerender)
        self.chain_editor.chain_changed.connect(lambda _: self.rerender_timer.start())
        self.chain_editor.error.connect(self.message.emit)
        self.rerender_button = QPushButton("Re-render the take")
        self.rerender_button.clicked.connect(self.rerender)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Effect chain of the selected take; edits re-render its dry take"))
        layout.addWidget(self.effect_preset)
        layout.addWidget(self.chain_editor, 1)
        layout.addWidget(self.rerender_button)

    def show_take(self, take: Take) -> None:
        """The chain the take was rendered with (its provenance), without re-rendering it."""
        self.take = take
        provenance = read_file_provenance(Path(take.path))
        fx = provenance.fx if provenance is not None else None
        try:
            chain = parse_chain(fx, Path(take.path).parent) if fx else EffectChain()
        except PresetError:
            chain = EffectChain()
        self.chain_editor.blockSignals(True)
        self.chain_editor.set_chain(chain)
        self.chain_editor.blockSignals(False)

    def apply_effect_preset(self, name: str) -> None:
        try:
            chain = EffectChain() if name == DRY else self.library.effect(name)
        except PresetError as error:
            self.message.emit(str(error))
            return
        self.effect_preset.setCurrentText(name)
        self.chain_editor.set_chain(chain)
        self.rerender()

    def rerender(self) -> None:
        take = self.take
        if take is None:
            self.message.emit("shape: select a take first")
            return
        source = take.shaped_from or take.path
        try:
            chain = self.chain_editor.chain()
        except PresetError as error:
            self.message.emit(str(error))
            return
        delivery = Delivery(chain, self.export(), SHAPED_NAME, keep_dry=False)

        def rendered(delivered: Any) -> None:
            item = delivered[0].take
            shaped = Take(item, take.request_id, take.prompt, shaped_from=source)
            self.shaped.emit(shaped, take)
            self.message.emit(f"re-rendered {Path(source).name} through {chain.name}: {item.name}")

        def failed(message: str) -> None:
            self.message.emit(f"re-render: {message}")

        run_in_background(lambda: rerender(Path(source), self.output, delivery), rendered, failed)
