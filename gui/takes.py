"""Takes as a list model: one row per result file, with thumbnails, and drag-out as real WAV files.

A drag carries the file's URL under the standard `text/uri-list` type, which DAWs and file managers
accept; the file is the delivered WAV with its provenance chunks, already on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QSize, Qt, QUrl
from PyQt6.QtGui import QColor, QImage, QPainter

from ..engine.licence import Licence

THUMB_WIDTH, THUMB_HEIGHT = 220, 40
NONCOMMERCIAL_COLOUR = "#e8a33d"  # the mark of a non-commercial licence: the takes and the model picker


@dataclass
class Take:
    path: str
    request_id: str
    duration_s: float
    sample_rate: int
    seed: int | None
    prompt: str = ""
    score: float | None = None
    starred: bool = False
    shaped_from: str | None = None  # the take this one re-renders with another chain
    licence: Licence | None = None  # the model card's, from the file's provenance (None: not read yet)
    thumbnail: QImage | None = None  # waveform over spectrogram

    @property
    def name(self) -> str:
        return Path(self.path).name

    def describe(self) -> str:
        seed = f"seed {self.seed}" if self.seed is not None and self.seed >= 0 else "no seed"
        score = f" · score {self.score:.2f}" if self.score is not None else ""
        star = "★ " if self.starred else ""
        shaped = " · shaped" if self.shaped_from else ""
        licence = ""
        if self.licence is not None:
            mark = "⚠ non-commercial, " if self.licence.noncommercial else ""
            licence = f"\n{mark}licence {self.licence.title}"
        details = f"{self.prompt[:60]} · {seed} · {self.duration_s:.2f} s{score}{shaped}"
        return f"{star}{self.name}\n{details}{licence}"


def thumbnail(waveform: QImage, spectrogram: QImage) -> QImage:
    image = QImage(THUMB_WIDTH, THUMB_HEIGHT * 2, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(24, 24, 28))
    painter = QPainter(image)
    painter.drawImage(0, 0, waveform)
    painter.drawImage(0, THUMB_HEIGHT, spectrogram)
    painter.end()
    return image


class TakesModel(QAbstractListModel):
    TakeRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self) -> None:
        super().__init__()
        self.takes: list[Take] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.takes)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        take = self.takes[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return take.describe()
        if role == Qt.ItemDataRole.DecorationRole:
            return take.thumbnail
        if role == Qt.ItemDataRole.ToolTipRole:
            licence = take.licence
            return take.path + (f"\n{licence.evidence or licence.source}" if licence is not None else "")
        if role == Qt.ItemDataRole.ForegroundRole and take.licence is not None and take.licence.noncommercial:
            return QColor(NONCOMMERCIAL_COLOUR)
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(THUMB_WIDTH * 2, THUMB_HEIGHT * 2 + 8)
        if role == self.TakeRole:
            return take
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        paths = [self.takes[index.row()].path for index in indexes if index.isValid()]
        mime.setUrls([QUrl.fromLocalFile(path) for path in paths if Path(path).is_file()])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def add(self, take: Take) -> QModelIndex:
        row = len(self.takes)
        self.beginInsertRows(QModelIndex(), row, row)
        self.takes.append(take)
        self.endInsertRows()
        return self.index(row)

    def clear(self) -> None:
        self.beginResetModel()
        self.takes = []
        self.endResetModel()

    def changed(self, take: Take) -> None:
        if take in self.takes:
            index = self.index(self.takes.index(take))
            self.dataChanged.emit(index, index)

    def for_job(self, request_id: str) -> list[Take]:
        return [take for take in self.takes if take.request_id == request_id]
