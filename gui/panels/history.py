"""History: every job this app has seen, searchable; its takes come back into the takes list, and a job
can run again with its own seed or a new one."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...engine.limits import NEW_SEEDS
from ...host_bridge.jobs.spec import JobSpec
from ..history import History, JobRecord
from ..jobs_model import HistoryModel
from ..takes import Take


class HistoryPanel(QWidget):
    take_found = pyqtSignal(object)  # a stored Take whose file is still there
    message = pyqtSignal(str)

    def __init__(self, history: History, submit: Callable[[JobSpec], str | None]):
        super().__init__()
        self.history, self.submit = history, submit  # submit(JobSpec) -> request id
        self.search = QLineEdit(placeholderText="search prompts, kinds, ids")
        self.search.textChanged.connect(self.refresh)
        self.model = HistoryModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.selectionModel().selectionChanged.connect(self.show_takes)
        rerun = QPushButton("Re-run")
        rerun.clicked.connect(lambda: self.rerun(new_seed=False))
        new_seed = QPushButton("New seed")
        new_seed.clicked.connect(lambda: self.rerun(new_seed=True))
        buttons = QHBoxLayout()
        buttons.addWidget(rerun)
        buttons.addWidget(new_seed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        self.model.set_records(self.history.jobs(self.search.text()))

    def selected(self) -> JobRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.records[rows[0].row()] if rows else None

    def show_takes(self) -> None:
        record = self.selected()
        if record is None:
            return
        for stored in self.history.takes(record.request_id):
            if Path(stored.file.path).is_file():
                self.take_found.emit(Take(stored.file, stored.request_id, record.prompt, stored.starred))

    def rerun(self, new_seed: bool) -> str | None:
        """Queue the selected job again, as it was or with a new seed; its request id, or None."""
        record = self.selected()
        if record is None:
            self.message.emit("select a job in the history first")
            return None
        options = dict(record.options)
        options.pop("reply_port", None)
        if new_seed:
            options["seed"] = random.randrange(NEW_SEEDS)
        prompt = "" if record.kind == "vary" else record.prompt
        given = "" if record.kind == "generate" else record.input
        return self.submit(JobSpec.from_options(record.kind, prompt, given, options))
