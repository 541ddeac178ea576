"""Takes the app pushes to a DAW ("Send to DAW"), as files in the spool folder that a DAW's Lua can read.

REAPER's and Ardour's Lua cannot receive OSC, and Ardour's cannot list a folder, so the outbox is
numbered: `spool/takes/N.json` holds the same message an OSC listener would get,
`["/soundloom/take", path, duration_s, sample_rate]`, and `spool/takes/latest` holds the newest N. A
DAW's "receive takes" action remembers the `latest` it saw when it started and places every take after
it. Both files are written to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ..delivery.files import write_text

TAKE_ADDRESS = "/soundloom/take"


class TakeOutbox:
    def __init__(self, spool_folder: Path):
        self.folder = spool_folder / "takes"
        self._lock = threading.Lock()

    def latest(self) -> int:
        try:
            return int((self.folder / "latest").read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def push(self, path: str, duration_s: float, sample_rate: int) -> int:
        """Publish one take; returns its number."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            number = self.latest() + 1
            message = [TAKE_ADDRESS, path, float(duration_s), int(sample_rate)]
            write_text(self.folder / f"{number}.json", json.dumps(message))
            write_text(self.folder / "latest", str(number))
            return number
