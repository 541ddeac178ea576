"""The batch's record of finished takes: `manifest.jsonl` in the output folder, one JSON line per take.

Only the driver writes it, one line per take as it lands, flushed and fsynced before the next: a killed
driver loses at most the line it was writing (a torn last line is ignored when it is read back, and the
take it named is found again by its file's provenance). An exclusive lock keeps a second driver out of the
same folder. `manifest.csv` is the same records for a sound library manager, rewritten whole at the end
of every run.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from ..delivery.deliver import summary
from ..delivery.files import write_text
from ..delivery.provenance import Provenance
from ..errors import BridgeError

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
MANIFEST_CSV = "manifest.csv"
LOCK = ".manifest.lock"
CSV_COLUMNS = (
    "file",
    "description",
    "prompt",
    "operation",
    "seed",
    "variation",
    "variations",
    "duration_s",
    "sample_rate",
    "channels",
    "loudness_lufs",
    "true_peak_dbtp",
    "model",
    "licence",
    "licence_link",
    "non_commercial",
    "fx",
    "job_line",
    "take",
    "sha256",
)


class Manifest:
    """The finished takes of one output folder, by take key; `record` adds one durably."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / MANIFEST
        self._lock = _lock(folder / LOCK)
        self.takes: dict[str, dict[str, Any]] = {}
        self.torn = 0  # lines that did not parse (a driver killed mid-line)
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        self._read(text)
        self._stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open as long as the run
        if text and not text.endswith("\n"):
            self._stream.write("\n")  # a torn last line ends here: the next record starts a line of its own

    def _read(self, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                entry = json.loads(line)
                self.takes[entry["take"]] = entry  # a later line for a key (a take re-rendered) wins
            except (json.JSONDecodeError, KeyError, TypeError):
                self.torn += 1
                log.warning("%s line %d is torn or not a take; ignored", self.path, number)

    def missing_files(self) -> list[str]:
        """Keys of recorded takes whose file is gone (deleted since): rendered again."""
        return [key for key, entry in self.takes.items() if not (self.folder / entry["file"]).is_file()]

    def record(self, entry: dict[str, Any]) -> None:
        """Append one finished take, durably, before the next is recorded."""
        entry = {**entry, "recorded": datetime.now().isoformat(timespec="seconds")}
        self._stream.write(json.dumps(entry, sort_keys=True) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self.takes[entry["take"]] = entry

    def write_csv(self) -> Path:
        """manifest.csv: one row per take, as a library manager imports it (atomically replaced)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for entry in sorted(self.takes.values(), key=lambda item: item["file"]):
            writer.writerow(csv_row(entry))
        return write_text(self.folder / MANIFEST_CSV, buffer.getvalue())

    def close(self) -> None:
        self._stream.close()
        with contextlib.suppress(OSError):
            self._lock.close()


def csv_row(entry: dict[str, Any]) -> dict[str, Any]:
    provenance = Provenance.from_dict(entry.get("provenance")) or Provenance(operation="")
    licence = provenance.licence
    fx = provenance.fx or {}
    return {
        "file": entry["file"],
        "description": summary(provenance),
        "prompt": provenance.prompt,
        "operation": provenance.operation,
        "seed": provenance.seed,
        "variation": entry.get("variation"),
        "variations": entry.get("variations"),
        "duration_s": entry.get("duration_s"),
        "sample_rate": provenance.sample_rate,
        "channels": provenance.channels,
        "loudness_lufs": provenance.loudness_lufs,
        "true_peak_dbtp": provenance.true_peak_dbtp,
        "model": provenance.model_id or "",
        "licence": licence.title if licence else "unknown",
        "licence_link": (licence.link or "") if licence else "",
        "non_commercial": "yes" if licence and licence.noncommercial else "no",
        "fx": fx.get("name", ""),
        "job_line": entry.get("line"),
        "take": entry["take"],
        "sha256": entry.get("sha256", ""),
    }


def _lock(path: Path) -> Any:
    """An exclusive, non-blocking lock on `path`, held while the returned file is open."""
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise BridgeError(
            f"{path.parent} is being rendered into by {holder}; wait for it or choose another --out"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"soundloom batch pid {os.getpid()}")
    handle.flush()
    return handle
