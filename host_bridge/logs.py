"""Python logging for the long-running parts (`soundloom serve`, `soundloom gui`): a rotating log file in
the data folder keeps every failed job's traceback; `--verbose` also prints the log on stderr.

One-shot commands do not call this: their errors are one line on stderr, and a traceback there would
be noise. A failed job's one-line message names the log file (`log_file()`) so a user can find the rest.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import time
from pathlib import Path

from .home import log_path

LOG_BYTES = 2 * 2**20  # per file; five files kept: weeks of jobs, a few MB at most
LOG_BACKUPS = 4
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

_log_file: Path | None = None


def setup_logging(verbose: bool = False, path: Path | None = None) -> Path:
    """Log soundloom.* at INFO to `path` (default: the data folder's soundloom.log); returns the file."""
    global _log_file
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("soundloom")
    for handler in list(logger.handlers):  # a second app in one process (tests) must not log twice
        logger.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(file_handler)
    if verbose:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(console)
    logger.setLevel(logging.INFO)
    _log_file = path
    return path


def log_file() -> Path | None:
    """The file this process logs to; None when logging was not set up (one-shot commands, tests)."""
    return _log_file


def where_logged() -> str:
    """The tail a failure message gets: where its traceback is, when there is a log file."""
    return f" (details in {_log_file})" if _log_file is not None else ""


class Tally:
    """Counts something that can happen thousands of times a second (dropped packets, refused frames) and
    logs it at most once per `interval_s`, as the count since the last line: a flood stays a few lines."""

    def __init__(self, logger: logging.Logger, what: str, interval_s: float = 10.0):
        self.logger, self.what, self.interval_s = logger, what, interval_s
        self.total = 0
        self._unlogged = 0
        self._logged_at = -interval_s
        self._lock = threading.Lock()

    def add(self, count: int = 1) -> None:
        with self._lock:
            self.total += count
            self._unlogged += count
            now = time.monotonic()
            if now - self._logged_at < self.interval_s:
                return
            unlogged, self._unlogged, self._logged_at = self._unlogged, 0, now
        self.logger.warning("%d %s (%d in all)", unlogged, self.what, self.total)
