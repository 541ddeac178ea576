"""The window's side of the bridge: submit and cancel jobs, and hear about every job as Qt signals.

The app hosts the same BridgeService that `soundloom serve` runs. Its jobs, the window's and the DAW's
alike, run on the bridge's worker thread; the watcher hook turns their events into signals, which Qt
delivers on the GUI thread. The engine is loaded by that worker on the first job (torch is imported
there, never by the GUI's modules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from ..engine.errors import EngineError
from ..host_bridge.jobs import Job
from ..host_bridge.osc_transport import ReplyTarget
from ..host_bridge.protocol import PREFIX, Command, parse
from ..host_bridge.service import BridgeService


def model_loader(device: str = "auto", dtype: str = "float32") -> Callable[[str], Any]:
    """Loads a model by name ('default', a folder, a hub id), on the worker thread that first needs it."""

    def load(model_id: str) -> Any:
        from ..engine.default_model import resolve_model
        from ..engine.pipeline import load_model  # imports torch, on the worker thread

        try:
            return load_model(resolve_model(model_id), device=device, dtype=dtype)
        except Exception as error:
            raise EngineError(f"cannot load the model {model_id}: {error}") from None

    return load


def origin_of(reply_record: dict[str, Any]) -> str:
    if "udp" in reply_record:
        host, port = reply_record["udp"]
        return f"OSC {host}:{port}"
    if "spool" in reply_record:
        return "REAPER (spool)"
    return reply_record.get("origin", "OSC (TCP)")


class AppReply(ReplyTarget):
    """The reply target of the window's own jobs: the window hears them through the watcher instead."""

    def record(self) -> dict[str, Any]:
        return {"origin": "app"}


class BridgeLink(QObject):
    job_queued = pyqtSignal(str, object, str)  # request id, Command, origin
    job_event = pyqtSignal(str, str, object)  # request id, "progress" | "done" | "error", payload

    def __init__(self, service: BridgeService):
        super().__init__()
        self.service = service
        service.bridge.watchers.append(self._watch)

    def _watch(self, job: Job, event: str, payload: Any) -> None:
        if event == "queued":
            self.job_queued.emit(job.request_id, job.command, origin_of(payload))
        else:
            self.job_event.emit(job.request_id, event, payload)

    def submit(self, kind: str, request_id: str, values: list[str], options: dict[str, Any]) -> Command:
        """Check and queue a job exactly as an OSC request would be; ProtocolError says what is wrong."""
        args: list[Any] = [request_id, *values]
        for key, value in options.items():
            args += [key, value]
        command = parse(PREFIX + kind, args)
        self.service.bridge.submit(command, AppReply())
        return command

    def cancel(self, request_id: str) -> bool:
        return self.service.bridge.queue.cancel(request_id)

    def push_take(self, path: str, duration_s: float, sample_rate: int) -> None:
        """Offer a take to the DAWs' "receive takes" actions (REAPER, Ardour) through the spool folder."""
        self.service.take_outbox.push(path, duration_s, sample_rate)

    def use_model(self, model_id: str) -> None:
        self.service.runner.use_model(model_id)

    def engine_status(self) -> str:
        facts = self.service.runner.model_status()
        if facts is None:
            return "engine: the model loads with the first job"
        memory = f", {facts['allocated_mb']:.0f} MB allocated" if "allocated_mb" in facts else ""
        return f"engine: {facts['device']} {facts['dtype']}, weights {facts['weights_mb']:.0f} MB{memory}"

    def daw_status(self, now: float) -> str:
        udp = self.service.udp
        listening = f"OSC :{udp.port}" if udp else "OSC off"
        last = self.service.bridge.last_message
        if last is None:
            return f"{listening}, no DAW message yet"
        return f"{listening}, last {last[1]} {now - last[0]:.0f} s ago"
