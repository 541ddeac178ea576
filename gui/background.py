"""Run a plain function on Qt's thread pool and get its result (or its error) back on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal


class _Relay(QObject):
    finished = pyqtSignal(object)
    failed = pyqtSignal(str)


class _Task(QRunnable):
    def __init__(self, work: Callable[[], Any], relay: _Relay):
        super().__init__()
        self.work, self.relay = work, relay

    def run(self) -> None:
        try:
            result = self.work()
        except Exception as error:  # reported in the window, never lost in a worker thread
            self.relay.failed.emit(str(error) or type(error).__name__)
        else:
            self.relay.finished.emit(result)


_relays: set[_Relay] = set()  # keep each relay alive until its task reports


def run_in_background(
    work: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[str], None]
) -> None:
    relay = _Relay()  # created here, on the GUI thread, so its signals arrive here
    _relays.add(relay)

    def done(result: Any) -> None:
        _relays.discard(relay)
        on_done(result)

    def failed(message: str) -> None:
        _relays.discard(relay)
        on_error(message)

    relay.finished.connect(done)
    relay.failed.connect(failed)
    QThreadPool.globalInstance().start(_Task(work, relay))
