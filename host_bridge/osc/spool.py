"""The spool folder: OSC messages as JSON files, for clients that cannot open a socket (Reaper's Lua).

A client writes `requests/NAME.json` (a JSON array `[address, arg, ...]`, written to a temporary name and
renamed, so it appears whole) and polls `replies/NAME.json`, which the bridge rewrites atomically with the
list of every reply so far (`[[address, arg, ...], ...]`). JSON strings and numbers map to OSC s, i
(whole numbers, `4.0` included) and f. See osc/PROTOCOL.md for why Reaper talks this way.

Anything can be dropped in the folder, so a request is read the careful way: never through a symlink,
never from a FIFO or device, never more than MAX_REQUEST_BYTES, flat arrays of strings and numbers
only. A request that fails any of that is moved to `rejected/`, answered with `bad_message`, and the
watcher serves on. Replies start afresh with each request; a request whose NAME already has replies is
refused (a planted `done` must not be read as its answer). Replies and rejected requests older than
RETENTION_S are removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

from ..delivery.files import write_text
from ..jobs.errors import BAD_MESSAGE, DUPLICATE_ID
from ..logs import Tally
from .protocol import PREFIX
from .reply_record import SPOOL, ReplyRecord
from .transport import Handler, ReplyTarget

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
MAX_REPLIES_BYTES = 4 * 2**20  # a replies file read back at a restart; ours stay far below
RETENTION_S = 24 * 3600.0  # replies and rejected requests older than this are removed
CLEAN_EVERY_S = 600.0
REJECTED = "rejected"
TERMINAL = (PREFIX + "done", PREFIX + "error")


class SpoolError(ValueError):
    """A request file the bridge will not read; the message says why."""


class SpoolReply(ReplyTarget):
    """Replies for one request, as a JSON file rewritten whole with each. New requests start empty;
    `resume` picks up a file an earlier run wrote (a job re-run or reported after a restart)."""

    def __init__(self, path: Path, replies: list[list[Any]] | None = None):
        self.path = path
        self._replies: list[list[Any]] = replies or []
        self._lock = threading.Lock()

    @classmethod
    def resume(cls, path: Path) -> SpoolReply:
        """The replies so far; a file that is not ours to read (corrupt, huge, not a file) starts afresh."""
        try:
            replies = json.loads(read_capped(path, MAX_REPLIES_BYTES))
            if not isinstance(replies, list) or not all(isinstance(reply, list) for reply in replies):
                raise SpoolError("not a list of replies")
        except FileNotFoundError:
            replies = []
        except (OSError, ValueError, RecursionError) as error:
            log.warning("%s: unreadable replies (%s); starting them afresh", path, error)
            replies = []
        return cls(path, replies)

    def ended(self) -> bool:
        """True when a terminal reply (`done` or `error`) is already in the file."""
        with self._lock:
            return any(reply and reply[0] in TERMINAL for reply in self._replies)

    def send(self, address: str, args: list[Any]) -> None:
        with self._lock:
            self._replies.append([address, *args])
            try:
                write_text(self.path, json.dumps(self._replies))
            except OSError as error:  # the folder is gone (the client with it) or the disk is full
                log.warning("%s: reply not written: %s", self.path, error)

    def record(self) -> ReplyRecord:
        return ReplyRecord(SPOOL, str(self.path))


def read_capped(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` of them; refuses symlinks, FIFOs, devices and folders
    without blocking on them (SpoolError), and anything longer than `limit` without reading it."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise SpoolError("not a regular file")
        if status.st_size > limit:
            raise SpoolError(f"{status.st_size} bytes; the limit is {limit}")
        data = os.read(descriptor, limit + 1)
    finally:
        os.close(descriptor)
    if len(data) > limit:  # grew since fstat
        raise SpoolError(f"longer than {limit} bytes")
    return data


def parse_request(data: bytes) -> list[Any]:
    """A request's JSON: a flat array [address, arg, ...] of strings and finite numbers, whole numbers
    (`4`, `4.0`) as integers."""
    try:
        message = json.loads(data, parse_float=_number, parse_constant=_no_constant)
    except RecursionError:
        raise SpoolError("nested too deep") from None
    except UnicodeDecodeError:
        raise SpoolError("not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise SpoolError(f"not JSON ({error.msg} at {error.pos})") from None
    if not (isinstance(message, list) and message and isinstance(message[0], str)):
        raise SpoolError("expected a JSON array [address, arg, ...]")
    for value in message:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise SpoolError(f"arguments are strings and numbers, not {json.dumps(value)[:40]}")
    return message


def _number(text: str) -> int | float:
    value = float(text)
    if not math.isfinite(value):
        raise SpoolError(f"{text[:40]} is not a finite number")
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


def _no_constant(text: str) -> None:
    raise SpoolError(f"{text} is not a number JSON allows")


class SpoolWatcher:
    def __init__(self, folder: Path, handler: Handler, interval_s: float = 0.05):
        self.requests, self.replies = folder / "requests", folder / "replies"
        self.rejected = folder / REJECTED
        for path in (self.requests, self.replies, self.rejected):
            path.mkdir(parents=True, exist_ok=True)
        self.handler, self.interval_s = handler, interval_s
        self.refused = Tally(log, "spool requests refused")
        self._cleaned_at: float | None = None  # monotonic time of the last clean
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="soundloom-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self._cleaned_at is None or time.monotonic() - self._cleaned_at > CLEAN_EVERY_S:
                    self.clean()
                for path in sorted(self.requests.glob("*.json"), key=_arrival):
                    self._take(path)
            except Exception:  # one bad file or a vanished folder costs a round, never the watcher
                log.exception("the spool watcher caught an unexpected error")

    def clean(self) -> int:
        """Remove replies and rejected requests older than RETENTION_S; returns how many."""
        self._cleaned_at = time.monotonic()
        cutoff = time.time() - RETENTION_S
        removed = 0
        for folder in (self.replies, self.rejected):
            for path in folder.iterdir():
                with contextlib.suppress(OSError):
                    if path.lstat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        return removed

    def _take(self, path: Path) -> None:
        reply_path = self.replies / path.name
        reply = SpoolReply(reply_path)
        try:
            message = parse_request(read_capped(path, MAX_REQUEST_BYTES))
            if os.path.lexists(reply_path):  # the refusal replaces whatever that file held
                self._refuse(path, reply, DUPLICATE_ID, "replies for it exist already; a name is used once")
                return
            path.unlink()
        except FileNotFoundError:
            return  # taken back by its client
        except (OSError, SpoolError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self._refuse(path, reply, BAD_MESSAGE, reason)
            return
        self.handler(message[0], message[1:], reply)

    def _refuse(self, path: Path, reply: SpoolReply, code: str, reason: str) -> None:
        """Move the request aside (never opened again) and answer why."""
        self.refused.add()
        with contextlib.suppress(OSError):
            os.replace(path, self.rejected / f"{time.time_ns()}-{path.name}")
        if not path.exists() and not path.is_symlink():
            reply.send(PREFIX + "error", ["", code, f"{path.name}: {reason}"])
        else:  # it could not be moved: it would be refused again every 50 ms, silently from now on
            with contextlib.suppress(OSError):
                path.unlink()


def _arrival(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0
