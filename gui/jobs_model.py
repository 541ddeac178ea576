"""Jobs as table models: the live ones (the window's own and the DAW's, with a progress bar column) and
the history's."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PyQt6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar

from ..host_bridge.osc.job import CANCELLED, FAILED, QUEUED

COLUMNS = ("Job", "From", "Prompt", "Progress", "State")
PROGRESS_COLUMN = COLUMNS.index("Progress")


@dataclass
class JobRow:
    request_id: str
    kind: str
    prompt: str
    origin: str
    state: str = QUEUED  # queued | running | done | failed | cancelled (host_bridge/osc/job.py)
    fraction: float = 0.0
    detail: str = ""
    files: list[str] = field(default_factory=list)


class JobsModel(QAbstractTableModel):
    RowRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[JobRow] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == self.RowRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.detail or None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (
            f"{row.kind} {row.request_id}",
            row.origin,
            row.prompt,
            row.fraction,
            row.state + (f": {row.detail}" if row.state in (FAILED, CANCELLED) else ""),
        )[index.column()]

    def row_of(self, request_id: str) -> int | None:
        for number, row in enumerate(self.rows):
            if row.request_id == request_id:
                return number
        return None

    def add(self, row: JobRow) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)  # newest on top
        self.rows.insert(0, row)
        self.endInsertRows()

    def update(self, request_id: str, **changes: Any) -> JobRow | None:
        number = self.row_of(request_id)
        if number is None:
            return None
        row = self.rows[number]
        for key, value in changes.items():
            setattr(row, key, value)
        self.dataChanged.emit(self.index(number, 0), self.index(number, len(COLUMNS) - 1))
        return row


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter, option, index) -> None:
        if index.column() != PROGRESS_COLUMN:
            return super().paint(painter, option, index)
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = round(float(index.data() or 0.0) * 100)
        bar.text, bar.textVisible = f"{bar.progress}%", True
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)
        return None


class HistoryModel(QAbstractTableModel):
    """The history's jobs (newest first), as the History tab's table shows them."""

    HEADERS = ("When", "Job", "Prompt")

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Any] = []  # history.JobRecord

    def set_records(self, records: list[Any]) -> None:
        self.beginResetModel()
        self.records = records
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        record = self.records[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.detail or record.request_id
        when = time.strftime("%m-%d %H:%M", time.localtime(record.created))
        return (when, f"{record.kind} · {record.state}", record.prompt)[index.column()]
