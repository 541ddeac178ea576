"""A clip's waveform with a mouse-drawn selection and a playhead; click to seek, drag to select."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette
from PyQt6.QtWidgets import QSizePolicy, QWidget

from .thumbnails import peaks, regroup

PEAK_COLUMNS = 2048  # computed once per clip; painting scales them to the widget


class WaveformView(QWidget):
    seek_requested = pyqtSignal(float)  # seconds
    selection_changed = pyqtSignal(float, float)  # start, end seconds (equal when cleared)

    def __init__(self, empty_text: str = "", parent: QWidget | None = None):
        """`empty_text`: what the view says while it holds no audio (what will appear in it)."""
        super().__init__(parent)
        self.empty_text = empty_text
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._peaks = np.zeros((0, 2), np.float32)
        self.duration_s = 0.0
        self.selection: tuple[float, float] | None = None
        self.playhead_s: float | None = None
        self._press_s: float | None = None

    def set_audio(self, audio: np.ndarray | None, sample_rate: int = 1) -> None:
        if audio is None or len(audio) == 0:
            self._peaks, self.duration_s = np.zeros((0, 2), np.float32), 0.0
        else:
            self._peaks, self.duration_s = peaks(audio, PEAK_COLUMNS), len(audio) / sample_rate
        self.selection, self.playhead_s = None, None
        self.update()

    def set_playhead(self, seconds: float | None) -> None:
        self.playhead_s = seconds
        self.update()

    def set_selection(self, start_s: float, end_s: float) -> None:
        start_s, end_s = sorted((max(0.0, start_s), min(self.duration_s, end_s)))
        self.selection = (start_s, end_s) if end_s > start_s else None
        self.selection_changed.emit(*(self.selection or (0.0, 0.0)))
        self.update()

    def _seconds_at(self, x: float) -> float:
        return min(max(x / max(self.width(), 1), 0.0), 1.0) * self.duration_s

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.duration_s and event.button() == Qt.MouseButton.LeftButton:
            self._press_s = self._seconds_at(event.position().x())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press_s is not None:
            self.set_selection(self._press_s, self._seconds_at(event.position().x()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press_s is None:
            return
        here = self._seconds_at(event.position().x())
        if abs(here - self._press_s) * self.width() < 3 * max(self.duration_s, 1e-9):  # a click, not a drag
            self.selection = None
            self.selection_changed.emit(0.0, 0.0)
            self.seek_requested.emit(here)
        self._press_s = None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        width, height = self.width(), self.height()
        if self.selection and self.duration_s:
            start, end = (value / self.duration_s * width for value in self.selection)
            highlight = palette.color(QPalette.ColorRole.Highlight)
            painter.fillRect(QRectF(start, 0, end - start, height), highlight)
        if len(self._peaks):
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            middle = height / 2
            for x, (low, high) in enumerate(regroup(self._peaks, width)):
                painter.drawLine(QPointF(x, middle - high * middle), QPointF(x, middle - low * middle))
        else:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
        if self.playhead_s is not None and self.duration_s:
            x = self.playhead_s / self.duration_s * width
            painter.setPen(QColor(230, 60, 60))
            painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.end()
