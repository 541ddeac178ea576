"""Jobs: every job from the window and the DAWs, live; its events also go into the history store."""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...host_bridge.osc import job as states
from ...host_bridge.osc.job import JobDone, JobEvent, JobFailed, JobPreview, JobProgress, JobQueued
from ..history import History, JobRecord
from ..jobs_model import JobRow, JobsModel, ProgressDelegate
from ..link import BridgeLink
from ..player import Player
from .preview import PreviewStrip


class JobsPanel(QWidget):
    finished = pyqtSignal(object, str)  # JobDone, the prompt shown for it
    changed = pyqtSignal()  # the history has a new job or state
    message = pyqtSignal(str)

    def __init__(self, link: BridgeLink, history: History, player: Player):
        super().__init__()
        self.link, self.history = link, history
        self.model = JobsModel()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(ProgressDelegate(self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.view.verticalHeader().hide()
        self.cancel_button = QPushButton("Cancel job")
        self.cancel_button.clicked.connect(self.cancel_selected)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Jobs (from this window and the DAW)"), 1)
        bar.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.preview = PreviewStrip(player)
        self.preview.message.connect(self.message)
        layout.addWidget(self.preview)
        link.job_event.connect(self.on_event)

    def on_event(self, event: JobEvent) -> None:
        request_id = event.job.request_id
        if isinstance(event, JobQueued):
            self._queued(event)
        elif isinstance(event, JobProgress):
            number = self.model.row_of(request_id)
            if number is not None and self.model.rows[number].state == states.QUEUED:
                self.history.set_state(request_id, states.RUNNING)
            self.model.update(request_id, state=states.RUNNING, fraction=event.fraction)
        elif isinstance(event, JobPreview):
            self.preview.show_preview(event)
        elif isinstance(event, JobDone):
            files = [result.path for result in event.results]
            row = self.model.update(request_id, state=states.DONE, fraction=1.0, files=files)
            self.history.set_state(request_id, states.DONE)
            self.preview.job_ended(request_id)
            self.finished.emit(event, row.prompt if row else "")
            self.changed.emit()
        elif isinstance(event, JobFailed):
            self.model.update(request_id, state=event.state, detail=event.message)
            self.history.set_state(request_id, event.state, event.message)
            self.message.emit(f"{request_id} {event.state}: {event.message}")
            self.changed.emit()

    def _queued(self, event: JobQueued) -> None:
        command, origin = event.job.command, event.reply_record.label()
        prompt = command.prompt or Path(command.input).name
        self.model.add(JobRow(command.request_id, command.kind, prompt, origin))
        self.history.add_job(
            JobRecord(command.request_id, command.kind, command.prompt, command.input, dict(command.options),
                      origin, states.QUEUED, "", time.time())
        )  # fmt: skip
        if origin != "app":
            self.message.emit(f"{origin}: {command.kind} {command.request_id}")
        self.changed.emit()

    def cancel_selected(self) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            self.message.emit("select a job to cancel")
            return
        row = self.model.rows[index.row()]
        if not self.link.cancel(row.request_id):
            self.message.emit(f"{row.request_id} is not queued or running")
