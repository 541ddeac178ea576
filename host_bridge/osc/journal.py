"""The job journal: every accepted request is on disk (SQLite) before the client hears `accepted`.

A crash, a kill -9 or a power cut between `accepted` and `done` leaves the job's row in state queued or
running; the next start finds it (`unfinished`) and either reports it failed with the reason or runs it
again, as the bridge is configured. WAL mode with synchronous=FULL: a committed row survives the process
dying at any instruction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .job import QUEUED, RUNNING

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    message TEXT NOT NULL,       -- the request as [address, args...] JSON: it parses back to the job
    reply TEXT NOT NULL,         -- where replies go, JSON ({"udp": [host, port]}, {"spool": path}, {})
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',  -- error message, or result paths as JSON
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
"""


@dataclass(frozen=True)
class JournalEntry:
    job_id: int
    request_id: str
    message: list[Any]  # [address, arg, ...]
    reply: dict[str, Any]
    state: str
    detail: str


class Journal:
    """One SQLite file, used from the bridge's threads under one lock."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def add(self, request_id: str, message: list[Any], reply: dict[str, Any]) -> int:
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO jobs (request_id, message, reply, state, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (request_id, json.dumps(message), json.dumps(reply), QUEUED, now, now),
            )
            return int(cursor.lastrowid)

    def set_state(self, job_id: int, state: str, detail: str = "") -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, detail = ?, updated = ? WHERE job_id = ?",
                (state, detail, time.time(), job_id),
            )

    def unfinished(self) -> list[JournalEntry]:
        """Jobs a previous run accepted and never finished, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, request_id, message, reply, state, detail FROM jobs "
                "WHERE state IN (?, ?) ORDER BY job_id",
                (QUEUED, RUNNING),
            ).fetchall()
        return [JournalEntry(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4], r[5]) for r in rows]

    def entry(self, job_id: int) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT job_id, request_id, message, reply, state, detail FROM jobs WHERE job_id = ?",
                (job_id,),
            ).fetchone()
        return (
            JournalEntry(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4], row[5])
            if row
            else None
        )

    def latest(self, request_id: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT job_id FROM jobs WHERE request_id = ? ORDER BY job_id DESC LIMIT 1", (request_id,)
            ).fetchone()
        return self.entry(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
