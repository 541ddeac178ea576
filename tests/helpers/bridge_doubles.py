"""Doubles for the bridge's in-process tests: a reply target that keeps what it is sent, and a runner that
does what JobRunner promises the queue (plan refuses early, run reports progress then delivers)."""

from __future__ import annotations

import threading
import time
from typing import Any

from soundloom.engine.errors import GenerationCancelled
from soundloom.host_bridge.daw.tempo import Tempo, TempoState
from soundloom.host_bridge.delivery.take_file import TakeFile
from soundloom.host_bridge.jobs.planner import JobPlanner
from soundloom.host_bridge.osc.protocol import PREFIX, ProtocolError
from soundloom.host_bridge.osc.reply_record import LOCAL, ReplyRecord
from soundloom.host_bridge.osc.transport import ReplyTarget
from soundloom.presets import load_library


class Replies(ReplyTarget):
    """A reply target that keeps what it is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []

    def send(self, address: str, args: list[Any]) -> None:
        self.sent.append((address.removeprefix(PREFIX), args))

    def record(self) -> ReplyRecord:
        return ReplyRecord(LOCAL, "test")

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]


class RunnerDouble:
    """What the bridge asks of JobRunner: plan (refuse early), run (report progress, deliver); its
    planner's tempo and presets answer the bridge's queries."""

    def __init__(self, fail_with: Exception | None = None, hold: threading.Event | None = None):
        self.fail_with, self.hold = fail_with, hold
        self.planner = JobPlanner(None, TempoState(Tempo(120.0, 4, "default")), load_library())  # type: ignore[arg-type]
        self.ran: list[str] = []

    def plan(self, spec: Any, request_id: str = "") -> None:
        if spec.prompt == "refuse me":
            raise ProtocolError("bad_value", "the plan refuses this", request_id)

    def run(self, job: Any, progress: Any, preview: Any) -> list[TakeFile]:
        if self.hold is not None:
            self.hold.wait(5)
        for step in range(1, 3):
            progress(step, 2)
            if job.cancel.is_set():
                raise GenerationCancelled("cancelled")
        if self.fail_with is not None:
            raise self.fail_with
        self.ran.append(job.request_id)
        return [TakeFile(f"/out/{job.request_id}.wav", 1.0, 48000, 7)]


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
