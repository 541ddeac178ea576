"""Where generated audio goes on disk: names, and WAV files written atomically, never over user audio."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from ...presets.render import to_pcm
from ..errors import BridgeError

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


class OutputError(BridgeError):
    """An output location that cannot be used; the message says which and why. `taken`: the only
    problem is this existing file, which would be replaced (a caller may offer to allow that)."""

    def __init__(self, message: str, taken: Path | None = None):
        super().__init__(message)
        self.taken = taken


def slug(text: str, max_length: int = 48) -> str:
    """A file-name-safe version of a prompt: 'Metal door, slam!' -> 'metal_door_slam'."""
    words = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return words[:max_length].rstrip("_") or "sound"


def plan_outputs(
    out: Path, count: int, names: list[str] | None = None, overwrite: bool = False, create: bool = False
) -> list[Path]:
    """The file paths `count` results will be written to, checked before any work is done.

    `out` is a .wav file (one result: exactly it; several: out_1.wav, out_2.wav, ...) or an existing
    folder (`create`: made if missing), where the files are `names` + .wav (default take_1 ...). Existing
    files are never replaced unless `out` names them and `overwrite`; in a folder a free name is chosen
    instead (name-2.wav, ...), also among the names of this batch.
    """
    if create:
        out.mkdir(exist_ok=True)
    if out.is_dir():
        chosen: list[Path] = []
        for name in names or [f"take_{i}" for i in range(1, count + 1)]:
            chosen.append(_free_name(out / f"{name}.wav", chosen))
        return chosen
    if out.suffix.lower() != ".wav":
        raise OutputError(f"{out}: give a .wav file or an existing folder")
    if not out.parent.is_dir():
        raise OutputError(f"{out}: folder {out.parent} does not exist")
    paths = [out] if count == 1 else [out.with_name(f"{out.stem}_{i}.wav") for i in range(1, count + 1)]
    taken = [path for path in paths if path.exists()]
    if taken and not overwrite:
        raise OutputError(f"{taken[0]} already exists; choose another name or allow replacing it", taken[0])
    return paths


def _free_name(path: Path, chosen: list[Path]) -> Path:
    candidate, n = path, 2
    while candidate.exists() or candidate in chosen:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def write_wav(
    path: Path,
    audio: np.ndarray,
    sample_rate: int,
    overwrite: bool = False,
    bit_depth: str = "32f",
    add_chunks: Callable[[bytes], bytes] | None = None,
) -> Path:
    """Write a WAV via a temporary file in the same folder, then link/rename it into place.

    `bit_depth` 16 (TPDF-dithered), 24 or 32f (float); `add_chunks` may rewrite the finished file's
    bytes (provenance chunks) before it appears. Without `overwrite` the final link fails if the name was
    taken meanwhile; the temporary is removed on any failure, so a reader never sees a half-written file.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    try:
        samples = to_pcm(np.asarray(audio, dtype=np.float32), bit_depth)
        sf.write(temporary, samples, sample_rate, subtype=SUBTYPES[bit_depth], format="WAV")
        if add_chunks is not None:
            Path(temporary).write_bytes(add_chunks(Path(temporary).read_bytes()))
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


def rename_take(path: Path, new_name: str) -> Path:
    """Give a take a new file name in its folder (the extension stays); never replaces another file."""
    new_name = new_name.strip()
    target = path.with_name(f"{new_name}{path.suffix}")
    if not new_name or any(mark in new_name for mark in "/\\") or new_name.startswith("."):
        raise OutputError(f"{new_name!r} is not a file name")
    if target.exists():
        raise OutputError(f"{target.name} already exists; nothing was overwritten")
    try:
        path.rename(target)
    except OSError as error:
        raise OutputError(f"{path.name}: {error.strerror}") from None
    return target
