"""The window's side of the bridge: submit and cancel jobs, and hear about every job as Qt signals.

The app hosts the same BridgeService that `soundloom serve` runs. Its jobs, the window's and the DAW's
alike, run on the bridge's worker thread; the watcher hook turns their events into signals, which Qt
delivers on the GUI thread. The engine is loaded by that worker on the first job (torch is imported
there, never by the GUI's modules).
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from ..engine.licence import Licence
from ..host_bridge.jobs.spec import JobSpec
from ..host_bridge.osc.reply_record import LOCAL, ReplyRecord
from ..host_bridge.osc.service import BridgeService
from ..host_bridge.osc.transport import ReplyTarget


class AppReply(ReplyTarget):
    """The reply target of the window's own jobs: the window hears them through the watcher instead."""

    def record(self) -> ReplyRecord:
        return ReplyRecord(LOCAL, "app")


class BridgeLink(QObject):
    """The window's one way to the bridge service: its public methods, and its job events as a Qt
    signal, delivered on the GUI thread (a queued connection) whatever thread the job ran on."""

    job_event = pyqtSignal(object)  # a JobEvent: JobQueued, JobProgress, JobPreview, JobDone or JobFailed
    model_loading = pyqtSignal(str, object)  # (model, None) as a load starts; (model, seconds) when done

    def __init__(self, service: BridgeService):
        super().__init__()
        self.service = service
        service.watch(self.job_event.emit)
        service.runner.load_listeners.append(self.model_loading.emit)

    @property
    def output(self) -> Path:
        """The folder takes are written to."""
        return self.service.output

    @property
    def default_osc_port(self) -> int:
        return self.service.settings.osc_port

    def submit(self, request_id: str, spec: JobSpec) -> None:
        """Check and queue a job exactly as an OSC request would be; JobError says what is wrong."""
        self.service.submit_spec(request_id, spec, AppReply())

    def cancel(self, request_id: str) -> bool:
        return self.service.cancel(request_id)

    def push_take(self, path: str, duration_s: float, sample_rate: int, osc_port: int = 0) -> None:
        """Offer a take to the DAWs' "receive takes" actions (REAPER, Ardour) through the spool folder,
        and as `/soundloom/take` to an OSC listener on `osc_port` (0: none)."""
        self.service.push_take(path, duration_s, sample_rate, osc_port)

    def use_model(self, model_id: str) -> None:
        self.service.runner.use_model(model_id)

    def model_licence(self, model_id: str) -> Licence:
        """What the model's card says of its licence (reads a file: call it off the GUI thread)."""
        return self.service.runner.model_licence(model_id)

    def engine_status(self) -> str:
        facts = self.service.runner.model_status()
        if facts is None:
            return "engine: the model loads with the first job"
        memory = f", {facts['allocated_mb']:.0f} MB allocated" if "allocated_mb" in facts else ""
        return f"engine: {facts['device']} {facts['dtype']}, weights {facts['weights_mb']:.0f} MB{memory}"

    def daw_status(self, now: float) -> str:
        port = self.service.udp_port
        listening = f"OSC :{port}" if port else "OSC off"
        last = self.service.last_message()
        if last is None:
            return f"{listening}, no DAW message yet"
        return f"{listening}, last {last[1]} {now - last[0]:.0f} s ago"
