"""One delivered take file, as every record of it holds it: the bridge's `done` reply and journal, crash
recovery, the batch manifest, and the app's takes and history."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf

from .provenance import Provenance, read_file_provenance


@dataclass(frozen=True)
class TakeFile:
    path: str
    duration_s: float
    sample_rate: int
    seed: int | None
    # What made it, when it has been read (a `done` reply and the journal carry only the four above).
    provenance: Provenance | None = field(default=None, compare=False)

    def to_list(self) -> list[Any]:
        """[path, duration_s, sample_rate, seed]: a `done` reply's and the journal's form of a take."""
        return [self.path, self.duration_s, self.sample_rate, self.seed]

    @classmethod
    def from_list(cls, values: list[Any]) -> TakeFile:
        path, duration_s, sample_rate, seed = values
        return cls(str(path), float(duration_s), int(sample_rate), seed)

    @classmethod
    def read(cls, path: Path) -> TakeFile:
        """The record of a take file on disk, from its header and its provenance (OSError, or
        soundfile's error for a file that is not audio, when it cannot be read)."""
        info = sf.info(str(path))
        provenance = read_file_provenance(path)
        seed = provenance.seed if provenance is not None else None
        return cls(str(path), round(info.frames / info.samplerate, 3), info.samplerate, seed, provenance)

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def warnings(self) -> tuple[str, ...]:
        """What its render warned of (near silence, a large gain); () when none, or not read yet."""
        return self.provenance.warnings if self.provenance is not None else ()
