"""The job journal: every accepted request is on disk (SQLite) before the client hears `accepted`.

A crash, a kill -9 or a power cut between `accepted` and `done` leaves the job's row in state queued or
running; the next start finds it (`unfinished`) and either reports it failed with the reason or runs it
again, as the bridge is configured. Before a job writes files it records their names (`outputs`), so a
restart finds what a killed delivery left; after its terminal reply is sent the row is marked `reported`,
so a kill between the two is answered at the next start (`unreported`). WAL mode with synchronous=FULL:
a committed row survives the process dying at any instruction. A write that fails (a full disk) raises
JournalError, one line; the bridge refuses new jobs with it and serves on.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BridgeError
from .job import FINISHED, QUEUED, RUNNING

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    message TEXT NOT NULL,       -- the request as [address, args...] JSON: it parses back to the job
    reply TEXT NOT NULL,         -- where replies go, JSON ({"udp": [host, port]}, {"spool": path}, {})
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',  -- error message, or the result paths
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
"""
# Columns added after the first release, with what rows from before them get.
ADDED_COLUMNS = {
    "code": "TEXT NOT NULL DEFAULT ''",  # a failure's protocol error code
    "results": "TEXT NOT NULL DEFAULT '[]'",  # done: [[path, duration_s, sample_rate, seed], ...]
    "outputs": "TEXT NOT NULL DEFAULT '[]'",  # the files a delivery is about to write (takes, dry takes)
    "reported": "INTEGER NOT NULL DEFAULT 1",  # 1 once the terminal reply went out (new rows start at 0)
}
COLUMNS = "job_id, request_id, message, reply, state, detail, code, results, outputs"


class JournalError(BridgeError):
    """The journal could not be written or read (a full disk, a broken file); the message says which."""


@dataclass(frozen=True)
class JournalEntry:
    job_id: int
    request_id: str
    message: list[Any]  # [address, arg, ...]
    reply: dict[str, Any]
    state: str
    detail: str
    code: str = ""
    results: list[list[Any]] = field(default_factory=list)
    outputs: list[list[str | None]] = field(default_factory=list)  # [take, dry take or None]

    @classmethod
    def from_row(cls, row: tuple) -> JournalEntry:
        job_id, request_id, message, reply, state, detail, code, results, outputs = row
        return cls(
            job_id, request_id, json.loads(message), json.loads(reply), state, detail, code,
            json.loads(results), json.loads(outputs),
        )  # fmt: skip


class Journal:
    """One SQLite file, used from the bridge's threads under one lock."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            present = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in present:
                    self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        except sqlite3.Error as error:
            raise JournalError(f"cannot open the job journal {path}: {error}") from None

    @contextmanager
    def _database(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as error:
                raise JournalError(f"cannot use the job journal {self.path}: {error}") from None

    def add(self, request_id: str, message: list[Any], reply: dict[str, Any]) -> int:
        now = time.time()
        with self._database() as db:
            cursor = db.execute(
                "INSERT INTO jobs (request_id, message, reply, state, created, updated, reported) "
                "VALUES (?, ?, ?, ?, ?, ?, 0)",
                (request_id, json.dumps(message), json.dumps(reply), QUEUED, now, now),
            )
            return int(cursor.lastrowid)

    def set_state(
        self,
        job_id: int,
        state: str,
        detail: str = "",
        code: str = "",
        results: list[list[Any]] | None = None,
    ) -> None:
        with self._database() as db:
            db.execute(
                "UPDATE jobs SET state = ?, detail = ?, code = ?, results = ?, updated = ? WHERE job_id = ?",
                (state, detail, code, json.dumps(results or []), time.time(), job_id),
            )

    def set_outputs(self, job_id: int, paths: list[list[str | None]]) -> None:
        """Record the files a job is about to write, before it writes them."""
        with self._database() as db:
            db.execute("UPDATE jobs SET outputs = ? WHERE job_id = ?", (json.dumps(paths), job_id))

    def set_reported(self, job_id: int) -> None:
        with self._database() as db:
            db.execute("UPDATE jobs SET reported = 1 WHERE job_id = ?", (job_id,))

    def unfinished(self) -> list[JournalEntry]:
        """Jobs a previous run accepted and never finished, oldest first."""
        return self._select(f"state IN ({_marks(2)})", (QUEUED, RUNNING))

    def unreported(self) -> list[JournalEntry]:
        """Finished jobs whose terminal reply may not have gone out (a kill between the two)."""
        return self._select(f"reported = 0 AND state IN ({_marks(len(FINISHED))})", FINISHED)

    def entry(self, job_id: int) -> JournalEntry | None:
        found = self._select("job_id = ?", (job_id,))
        return found[0] if found else None

    def latest(self, request_id: str) -> JournalEntry | None:
        found = self._select("job_id = (SELECT MAX(job_id) FROM jobs WHERE request_id = ?)", (request_id,))
        return found[0] if found else None

    def _select(self, where: str, values: tuple) -> list[JournalEntry]:
        with self._database() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM jobs WHERE {where} ORDER BY job_id", values).fetchall()
        return [JournalEntry.from_row(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _marks(count: int) -> str:
    return ", ".join("?" * count)
