"""Takes as a list model: one row per result file, with thumbnails, and drag-out as real WAV files.

A drag carries the file's URL under the standard `text/uri-list` type, which DAWs and file managers
accept; the file is the delivered WAV with its provenance chunks, already on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QSize, Qt, QUrl
from PyQt6.QtGui import QColor, QImage, QPainter

from ..engine.licence import Licence
from ..host_bridge.delivery.provenance import Provenance
from ..host_bridge.delivery.take_file import TakeFile

THUMB_WIDTH, THUMB_HEIGHT = 220, 40
# The mark of a take to look at twice (a non-commercial licence, a near-silent or much-raised take) in the
# takes list, and of a non-commercial model in the model picker.
WARNING_COLOUR = "#e8a33d"
NONCOMMERCIAL_COLOUR = WARNING_COLOUR


@dataclass
class Take:
    """A take in the window: its file's record (host_bridge/delivery/take_file.py) and the window's marks."""

    file: TakeFile  # its provenance is None until read from the file (in the background)
    request_id: str
    prompt: str = ""  # the request's, until the file's provenance says
    starred: bool = False
    shaped_from: str | None = None  # the take this one re-renders with another chain
    thumbnail: QImage | None = None  # waveform over spectrogram

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def duration_s(self) -> float:
        return self.file.duration_s

    @property
    def sample_rate(self) -> int:
        return self.file.sample_rate

    @property
    def seed(self) -> int | None:
        return self.file.seed

    @property
    def score(self) -> float | None:
        return self.file.provenance.score if self.file.provenance is not None else None

    @property
    def licence(self) -> Licence | None:
        """The model card's, from the file's provenance (None: not read yet, or none there)."""
        return self.file.provenance.licence if self.file.provenance is not None else None

    def described(self, provenance: Provenance | None) -> None:
        """The file's provenance, read: its prompt, score and licence."""
        if provenance is not None:
            self.file = replace(self.file, provenance=provenance)
            self.prompt = provenance.prompt or self.prompt

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.file.warnings

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
        warnings = "".join(f"\n⚠ {warning}" for warning in self.warnings)
        return f"{star}{self.name}\n{details}\n{self.format_line()}{warnings}{licence}"

    def format_line(self) -> str:
        """'-20.1 LUFS · 48 kHz · 24-bit · stereo': what the file is, from its provenance (the rate alone
        until that is read)."""
        parts = []
        made = self.file.provenance
        if made is not None:
            parts.append(f"{made.loudness_lufs:.1f} LUFS" if made.loudness_lufs is not None else "silent")
        parts.append(f"{self.sample_rate / 1000:g} kHz")
        bits = (made.export or {}).get("bit_depth") if made is not None else None
        if bits:
            parts.append("32-bit float" if bits == "32f" else f"{bits}-bit")
        if made is not None and made.channels:
            parts.append({1: "mono", 2: "stereo"}.get(made.channels, f"{made.channels} ch"))
        return " · ".join(parts)


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
        marked = take.warnings or (take.licence is not None and take.licence.noncommercial)
        if role == Qt.ItemDataRole.ForegroundRole and marked:
            return QColor(WARNING_COLOUR)
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
