"""The preview strip: the latest rough take of a running generation, drawn and playable before it is done.

The bridge writes each preview over the last at one path and removes it when the job ends, so the strip
reads it (off the GUI thread) as soon as it is announced and keeps the samples: Play still works after
the file is gone.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...host_bridge.osc.job import JobPreview
from ..audio_files import LoadedAudio, load_audio
from ..background import run_in_background
from ..player import PLAYBACK_OFF, Player, PlayerError
from ..waveform import WaveformView

WAITING = "Preview: a generation's rough take appears here while it is denoised"


class PreviewStrip(QWidget):
    message = pyqtSignal(str)

    def __init__(self, player: Player):
        super().__init__()
        self.player = player
        self.loaded: LoadedAudio | None = None
        self.request_id, self.fraction, self.ended = "", 0.0, False
        self.label = QLabel(WAITING)
        self.waveform = WaveformView("the rough take, while a generation with a preview runs")
        self.waveform.setFixedHeight(48)
        self.play_button = QPushButton("Play preview")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play)
        if PLAYBACK_OFF:
            self.play_button.setToolTip(PLAYBACK_OFF)
        top = QHBoxLayout()
        top.addWidget(self.label, 1)
        top.addWidget(self.play_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.waveform)

    def show_preview(self, event: JobPreview) -> None:
        request_id, fraction = event.job.request_id, event.fraction
        self.request_id, self.fraction, self.ended = request_id, fraction, False

        def shown(loaded: LoadedAudio) -> None:
            if request_id != self.request_id or fraction != self.fraction:
                return  # a later preview was announced meanwhile: it is the one to show
            self.loaded = loaded
            self.waveform.set_audio(loaded.audio, loaded.sample_rate)
            self.play_button.setEnabled(not PLAYBACK_OFF)
            self._label()

        # The job may end (and its preview file go) before this runs: then the take itself is next anyway.
        run_in_background(lambda: load_audio(event.path), shown, lambda _: None)

    def job_ended(self, request_id: str) -> None:
        if request_id == self.request_id:
            self.ended = True
            self._label()

    def _label(self) -> None:
        if self.loaded is None:
            return
        done = ", done: its takes are below" if self.ended else " (rough: no vocoder)"
        self.label.setText(f"Preview of {self.request_id}: {self.fraction:.0%} denoised{done}")

    def play(self) -> None:
        if self.loaded is None:
            return
        try:
            self.player.play(self.loaded.audio, self.loaded.sample_rate)
        except PlayerError as error:
            self.message.emit(str(error))
