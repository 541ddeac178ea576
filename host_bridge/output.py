"""Where generated audio goes on disk: names, and WAV files written atomically, never over user audio."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf


class OutputError(Exception):
    """An output location that cannot be used; the message says which and why."""


def slug(text: str, max_length: int = 48) -> str:
    """A file-name-safe version of a prompt: 'Metal door, slam!' -> 'metal_door_slam'."""
    words = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return words[:max_length].rstrip("_") or "sound"


def plan_outputs(out: Path, count: int, stem: str, overwrite: bool = False) -> list[Path]:
    """The file paths `count` results will be written to, checked before any work is done.

    `out` is a .wav file (one result: exactly it; several: out_1.wav, out_2.wav, ...) or an existing
    folder (files `stem_1.wav`, ...). Existing files are never replaced unless `overwrite`; in a folder a
    free name is chosen instead.
    """
    if out.is_dir():
        return [_free_name(out / f"{stem}_{i}.wav") for i in range(1, count + 1)]
    if out.suffix.lower() != ".wav":
        raise OutputError(f"--out {out}: give a .wav file or an existing folder")
    if not out.parent.is_dir():
        raise OutputError(f"--out {out}: folder {out.parent} does not exist")
    paths = [out] if count == 1 else [out.with_name(f"{out.stem}_{i}.wav") for i in range(1, count + 1)]
    taken = [path for path in paths if path.exists()]
    if taken and not overwrite:
        raise OutputError(f"{taken[0]} already exists; choose another --out or pass --overwrite")
    return paths


def _free_name(path: Path) -> Path:
    candidate, n = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def write_wav(path: Path, audio: np.ndarray, sample_rate: int, overwrite: bool = False) -> Path:
    """Write 32-bit float WAV via a temporary file in the same folder, then link/rename it into place.

    Without `overwrite` the final link fails if the name was taken meanwhile; the temporary is removed
    on any failure, so a reader never sees a half-written file.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    try:
        sf.write(temporary, np.asarray(audio, dtype=np.float32), sample_rate, subtype="FLOAT", format="WAV")
        if overwrite:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise OutputError(f"{path} appeared while writing; it was left untouched") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def write_text(path: Path, text: str) -> Path:
    """Replace `path` with `text` atomically: a reader sees the old file or the new one, never half."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
