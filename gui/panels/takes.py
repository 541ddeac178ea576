"""Takes and audition: the takes list (drag into a DAW), the selected take's waveform, play, loop, A/B,
and what a take can be sent to: the DAW, the file manager, a star, a new name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSize, QUrl, pyqtSignal
from PyQt6.QtGui import QColor, QDesktopServices, QGuiApplication
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...host_bridge.delivery.files import OutputError, rename_take
from ...host_bridge.delivery.provenance import read_file_provenance
from ..audio_files import LoadedAudio, load_audio
from ..background import run_in_background
from ..history import History
from ..link import BridgeLink
from ..player import PLAYBACK_OFF, Player, PlayerError
from ..takes import THUMB_HEIGHT, THUMB_WIDTH, Take, TakesModel, thumbnail
from ..thumbnails import spectrogram_image, waveform_image
from ..waveform import WaveformView

PLAY, STOP = "Play  (Space)", "Stop  (Space)"


def make_thumbnail(path: str) -> Any:
    audio = load_audio(path)
    return thumbnail(
        waveform_image(audio.audio, THUMB_WIDTH, THUMB_HEIGHT, QColor(120, 200, 255)),
        spectrogram_image(audio.audio, audio.sample_rate, THUMB_WIDTH, THUMB_HEIGHT),
    )


class TakesPanel(QWidget):
    selected = pyqtSignal(object)  # the Take now selected
    message = pyqtSignal(str)

    def __init__(self, link: BridgeLink, history: History, player: Player, daw_port: Any):
        super().__init__()
        self.link, self.history, self.player = link, history, player
        self.daw_port = daw_port  # the Settings panel's spin box: 0 is off
        self.model = TakesModel()
        self.loaded: LoadedAudio | None = None  # the selected take's audio
        self.ab_pair: list[Take] = []  # the last two takes selected, for A/B
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.selectionModel().currentChanged.connect(lambda index, _: self.select(index))
        self.view.setIconSize(QSize(THUMB_WIDTH, THUMB_HEIGHT * 2))
        self.waveform = WaveformView("Select a take to see it and play it")
        self.waveform.setMaximumHeight(110)
        self.waveform.seek_requested.connect(self.seek)
        self.play_button = QPushButton(PLAY)
        self.play_button.clicked.connect(self.toggle_play)
        self.play_button.setEnabled(not PLAYBACK_OFF)
        self.play_button.setToolTip(PLAYBACK_OFF)
        self.loop_box = QCheckBox("Loop")
        self.loop_box.toggled.connect(lambda on: setattr(self.player, "loop", on))
        self.ab_button = QPushButton("A/B")
        self.ab_button.clicked.connect(self.switch_ab)
        transport, deliver = QHBoxLayout(), QHBoxLayout()
        for widget in (self.play_button, self.loop_box, self.ab_button):
            transport.addWidget(widget)
        for label, slot in (("Send to DAW", self.send_to_daw), ("Reveal", self.reveal),
                            ("Star", self.star), ("Rename…", self.rename)):  # fmt: skip
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, slot=slot: slot())
            deliver.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Takes: drag one into the DAW or a folder"))
        layout.addWidget(self.view, 1)
        layout.addWidget(self.waveform)
        layout.addLayout(transport)
        layout.addLayout(deliver)

    def add(self, take: Take, select: bool = True) -> None:
        """Add a take to the list; `select`: make it the current one and scroll it into view (the first
        take of each new job is, so what was just made is what Space plays)."""
        index = self.model.add(take)
        if select:
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index)

        def described(provenance: Any) -> None:
            take.described(provenance)
            self.model.changed(take)

        def drawn(image: Any) -> None:
            take.thumbnail = image
            self.model.changed(take)

        run_in_background(lambda: read_file_provenance(Path(take.path)), described, self.message.emit)
        run_in_background(lambda: make_thumbnail(take.path), drawn, self.message.emit)

    def current(self) -> Take | None:
        index = self.view.currentIndex()
        return self.model.takes[index.row()] if index.isValid() else None

    def select(self, index: Any) -> None:
        if not index.isValid():
            return
        take = self.model.takes[index.row()]
        self.ab_pair = [*(t for t in self.ab_pair if t is not take), take][-2:]

        def loaded(audio: LoadedAudio) -> None:
            if self.current() is take:
                self.loaded = audio
                self.waveform.set_audio(audio.audio, audio.sample_rate)

        run_in_background(lambda: load_audio(take.path), loaded, self.message.emit)
        self.selected.emit(take)

    def toggle_play(self) -> None:
        if self.player.playing:
            self.player.stop()
            self.play_button.setText(PLAY)
            return
        self.play_current()

    def play_current(self, start_s: float = 0.0) -> bool:
        take = self.current()
        if self.loaded is None or take is None or self.loaded.path != take.path:
            self.message.emit("select a take to play (its audio is still loading if you just did)")
            return False
        try:
            self.player.play(self.loaded.audio, self.loaded.sample_rate, start_s)
        except PlayerError as error:
            self.message.emit(str(error))
            return False
        self.play_button.setText(STOP)
        return True

    def seek(self, seconds: float) -> None:
        if self.player.playing:
            self.player.seek(seconds)
        else:
            self.play_current(seconds)

    def switch_ab(self) -> None:
        if len(self.ab_pair) < 2:
            self.message.emit("A/B: select two takes, one after the other")
            return
        position = self.player.position_s if self.player.playing else 0.0
        other = self.ab_pair[0]
        self.view.setCurrentIndex(self.model.index(self.model.takes.index(other)))

        def loaded(audio: LoadedAudio) -> None:
            self.loaded = audio
            self.waveform.set_audio(audio.audio, audio.sample_rate)
            self.play_current(min(position, len(audio.audio) / audio.sample_rate))

        run_in_background(lambda: load_audio(other.path), loaded, self.message.emit)

    def tick(self) -> None:
        """The playhead, and the button once playback ends by itself."""
        if self.player.playing:
            self.waveform.set_playhead(self.player.position_s)
        elif self.play_button.text() == STOP:
            self.play_button.setText(PLAY)
            self.waveform.set_playhead(None)
            if self.player.error:
                self.message.emit(self.player.error)
                self.player.error = ""

    def send_to_daw(self) -> None:
        """Offer the take to the DAW: REAPER's and Ardour's "Receive takes" actions place it at the edit
        cursor; an OSC listener on the port set in Settings gets `/soundloom/take`. Live cannot receive
        one (AbletonOSC has no audio-clip creation), so the message says to drag it."""
        take = self.current()
        if take is None:
            self.message.emit("Send to DAW: select a take first")
            return
        port = self.daw_port.value()
        self.link.push_take(take.path, float(take.duration_s), int(take.sample_rate), port)
        also = f" and to OSC port {port}" if port else ""
        self.message.emit(
            f"sent {take.name} to REAPER's and Ardour's \"Receive takes\" actions{also}; "
            "in Live, drag it from the takes list or the output folder (Live cannot receive takes)"
        )

    def reveal(self) -> None:
        """Open the take's folder in the file manager; when none answers (a headless session, no
        xdg-open), say so and put the path on the clipboard instead."""
        take = self.current()
        if take is None:
            self.message.emit("reveal: select a take first")
            return
        if not Path(take.path).is_file():
            self.message.emit(f"reveal: {take.path} is gone (moved or deleted outside the app)")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(take.path).parent))):
            QGuiApplication.clipboard().setText(take.path)
            self.message.emit(f"reveal: no file manager answered; the path is on the clipboard: {take.path}")

    def star(self) -> None:
        take = self.current()
        if take is not None:
            take.starred = not take.starred
            self.history.star(take.path, take.starred)
            self.model.changed(take)

    def rename(self, new_name: str | None = None) -> None:
        take = self.current()
        if take is None:
            return
        if new_name is None:
            new_name, ok = QInputDialog.getText(self, "Rename take", "New name", text=Path(take.path).stem)
            if not ok:
                return
        try:
            target = rename_take(Path(take.path), new_name)
        except OutputError as error:
            self.message.emit(f"rename: {error}")
            return
        self.history.move_take(take.path, str(target))
        take.file = replace(take.file, path=str(target))
        self.model.changed(take)
