"""Every job the window has seen, with its parameters and files, in SQLite in the user data folder.

No Qt here. Takes carry the user's own marks (star, name) beside the job that made them.

Why a second store beside the bridge's journal (host_bridge/osc/journal.py): the journal is the bridge's
write-ahead log, one row per accepted request, written before `accepted` with synchronous=FULL so a
crash loses nothing, and read back only to recover unfinished jobs. This is the user's library: every
take with its star and its new name after a rename or a re-render, searched as they type. A headless
`soundloom serve` has no such library, and the journal must not grow the app's columns or wait on its
searches; the two share the job's request id and state names (host_bridge/osc/job.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..host_bridge.delivery.take_file import TakeFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    request_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL,
    input TEXT NOT NULL,
    options TEXT NOT NULL,          -- JSON: the request's key/value options
    origin TEXT NOT NULL,           -- "app", or the DAW client that sent it
    state TEXT NOT NULL,            -- queued | running | done | failed | cancelled
    detail TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS takes (
    path TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    sample_rate INTEGER NOT NULL,
    seed INTEGER,
    starred INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass
class JobRecord:
    request_id: str
    kind: str
    prompt: str
    input: str
    options: dict[str, Any]
    origin: str
    state: str
    detail: str
    created: float


@dataclass
class TakeRecord:
    """A stored take: its file's record (host_bridge/delivery/take_file.py), its job, the user's star."""

    file: TakeFile
    request_id: str
    starred: bool = False


class History:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add_job(self, job: JobRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.request_id, job.kind, job.prompt, job.input, json.dumps(job.options),
                    job.origin, job.state, job.detail, job.created or time.time(),
                ),
            )  # fmt: skip

    def set_state(self, request_id: str, state: str, detail: str = "") -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, detail = ? WHERE request_id = ?", (state, detail, request_id)
            )

    def add_take(self, take: TakeRecord, position: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO takes VALUES (?, ?, ?, ?, ?, ?, ?)",
                (take.file.path, take.request_id, position, take.file.duration_s, take.file.sample_rate,
                 take.file.seed, int(take.starred)),
            )  # fmt: skip

    def star(self, path: str, starred: bool) -> None:
        with self._lock:
            self._db.execute("UPDATE takes SET starred = ? WHERE path = ?", (int(starred), path))

    def move_take(self, old: str, new: str) -> None:
        with self._lock:
            self._db.execute("UPDATE takes SET path = ? WHERE path = ?", (new, old))

    def jobs(self, search: str = "", limit: int = 500) -> list[JobRecord]:
        """Newest first; `search` matches the prompt, the kind or the request id (case-insensitive)."""
        pattern = f"%{search.strip()}%"
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE prompt LIKE ?1 OR kind LIKE ?1 OR request_id LIKE ?1 "
                "ORDER BY created DESC LIMIT ?2",
                (pattern, limit),
            ).fetchall()
        return [JobRecord(*row[:4], json.loads(row[4]), *row[5:]) for row in rows]

    def job(self, request_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE request_id = ?", (request_id,)).fetchone()
        return JobRecord(*row[:4], json.loads(row[4]), *row[5:]) if row else None

    def takes(self, request_id: str) -> list[TakeRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT path, request_id, duration_s, sample_rate, seed, starred FROM takes "
                "WHERE request_id = ? ORDER BY position",
                (request_id,),
            ).fetchall()
        return [TakeRecord(TakeFile(row[0], *row[2:5]), row[1], bool(row[5])) for row in rows]
