"""What a killed delivery left on disk, read back from the files the journal says it was about to write.

A job records its [take, dry take] paths before writing them (journal `outputs`); the names were free
then, and takes are written whole or not at all. So after a kill: every take there means the job finished
(its results are read back from the files), anything less is removed, so that a re-run writes each take
once and no orphan is left.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import soundfile as sf

from ..delivery.deliver import read_file_provenance
from .job import ResultFile


def finished_takes(outputs: list[list[str | None]]) -> list[ResultFile] | None:
    """The results of a delivery whose every take is on disk, or None."""
    if not outputs:
        return None
    results = []
    for take, _dry in outputs:
        path = Path(take)
        provenance = read_file_provenance(path) if path.is_file() else None
        if provenance is None:
            return None
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError):
            return None
        results.append(
            ResultFile(take, info.frames / info.samplerate, info.samplerate, provenance.get("seed"))
        )
    return results


def remove_partial_takes(outputs: list[list[str | None]]) -> list[Path]:
    """Remove what an unfinished delivery wrote; returns the removed paths.

    A take is removed only if it carries Soundloom's provenance (so never a file someone else put at that
    name since); a dry take sits in the output's dry/ folder under the name it was given, and only ours do.
    """
    removed = []
    for take, dry in outputs:
        path = Path(take)
        if path.is_file() and not path.is_symlink() and read_file_provenance(path) is not None:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        if dry is not None and Path(dry).is_file() and not Path(dry).is_symlink():
            with contextlib.suppress(OSError):
                Path(dry).unlink()
                removed.append(Path(dry))
    return removed
