"""The spool folder: OSC messages as JSON files, for clients that cannot open a socket (Reaper's Lua).

A client writes `requests/NAME.json` (a JSON array `[address, arg, ...]`, written to a temporary name and
renamed, so it appears whole) and polls `replies/NAME.json`, which the bridge rewrites atomically with the
list of every reply so far (`[[address, arg, ...], ...]`). JSON strings and numbers map to OSC s, i
(whole numbers) and f. See osc/PROTOCOL.md for why Reaper talks this way.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

from ..delivery.files import write_text
from .protocol import BAD_MESSAGE
from .transport import Handler, ReplyTarget

MAX_REQUEST_BYTES = 64 * 1024


class SpoolReply(ReplyTarget):
    def __init__(self, path: Path):
        self.path = path
        self._replies: list[list[Any]] = json.loads(path.read_text()) if path.is_file() else []
        self._lock = threading.Lock()

    def send(self, address: str, args: list[Any]) -> None:
        with self._lock:
            self._replies.append([address, *args])
            with contextlib.suppress(OSError):  # the spool folder was removed: the client is gone
                write_text(self.path, json.dumps(self._replies))

    def record(self) -> dict[str, Any]:
        return {"spool": str(self.path)}


class SpoolWatcher:
    def __init__(self, folder: Path, handler: Handler, interval_s: float = 0.05):
        self.requests, self.replies = folder / "requests", folder / "replies"
        self.requests.mkdir(parents=True, exist_ok=True)
        self.replies.mkdir(parents=True, exist_ok=True)
        self.handler, self.interval_s = handler, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="soundloom-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            for path in sorted(self.requests.glob("*.json"), key=_arrival):
                self._take(path)

    def _take(self, path: Path) -> None:
        reply = SpoolReply(self.replies / path.name)
        try:
            text = path.read_bytes()[: MAX_REQUEST_BYTES + 1]
            path.unlink()
        except OSError:
            return
        try:
            if len(text) > MAX_REQUEST_BYTES:
                raise ValueError(f"longer than {MAX_REQUEST_BYTES} bytes")
            message = json.loads(text)
            if not (isinstance(message, list) and message and isinstance(message[0], str)):
                raise ValueError("expected a JSON array [address, arg, ...]")
        except (ValueError, UnicodeDecodeError) as error:
            reply.send("/soundloom/error", ["", BAD_MESSAGE, f"{path.name}: {error}"])
            return
        self.handler(message[0], message[1:], reply)


def _arrival(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
