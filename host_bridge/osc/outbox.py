"""Replies sent from a thread of their own, so a client that does not read (or a `reply_port` where nobody
accepts) never holds up the thread that answers everyone else, the job worker included."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

OUTBOX_MESSAGES = 1024  # waiting replies per receiver; beyond it they are dropped and counted
IDLE_S = 5.0  # an outbox's thread ends after this long with nothing to send (the next reply restarts it)


class Outbox:
    """A bounded queue of encoded replies for one receiver, in order, sent by `deliver` on one thread.

    `deliver` raising OSError drops that reply (the receiver went away); `on_failure`, if given, is called
    once with the error and the outbox drops everything after it (a broken connection stays broken).
    """

    def __init__(
        self,
        deliver: Callable[[bytes], None],
        name: str,
        on_failure: Callable[[OSError], None] | None = None,
    ):
        self.deliver, self.name, self.on_failure = deliver, name, on_failure
        self.dropped = 0
        self._waiting: deque[bytes] = deque()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._broken = False

    def put(self, data: bytes) -> None:
        """Queue one reply; never blocks."""
        with self._condition:
            if self._broken or len(self._waiting) >= OUTBOX_MESSAGES:
                self.dropped += 1
                return
            self._waiting.append(data)
            if self._thread is None:
                self._thread = threading.Thread(target=self._send, name=f"soundloom-{self.name}", daemon=True)
                self._thread.start()
            self._condition.notify()

    def pending(self) -> int:
        with self._condition:
            return len(self._waiting)

    def _send(self) -> None:
        while True:
            with self._condition:
                if not self._waiting:
                    self._condition.wait(IDLE_S)
                if not self._waiting:
                    self._thread = None
                    return
                data = self._waiting.popleft()
            try:
                self.deliver(data)
            except OSError as error:
                log.debug("reply to %s not delivered: %s", self.name, error)
                if self.on_failure is not None:
                    with self._condition:
                        self._broken = True
                        self.dropped += len(self._waiting)
                        self._waiting.clear()
                    self.on_failure(error)
