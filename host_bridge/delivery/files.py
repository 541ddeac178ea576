"""Where generated audio goes on disk: names, and WAV files written atomically, never over user audio.

A file is written whole to a temporary name beside it (`.NAME.PID.<random>.part`), flushed to disk, given
the mode the umask allows (DAWs on shared volumes read each other's files), then linked into place; a
file that fails is removed with the one line that says why. A killed writer's `.part` names its process,
so `remove_stale_parts` can tell a dead writer's leftovers from a live one's work.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from ...presets.render import to_pcm
from ..errors import BridgeError

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
PART = ".part"
MIN_FREE_BYTES = 16 * 2**20  # an output folder with less is refused before any work: a minute of stereo


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # read at import, while nothing else runs; mkstemp alone would give 0600


class OutputError(BridgeError):
    """An output location that cannot be used; the message says which and why. `taken`: the only
    problem is this existing file, which would be replaced (a caller may offer to allow that)."""

    def __init__(self, message: str, taken: Path | None = None):
        super().__init__(message)
        self.taken = taken


def slug(text: str, max_length: int = 48) -> str:
    """A file-name-safe version of a prompt: 'Metal door, slam!' -> 'metal_door_slam'; a long one is cut
    at the last whole word that fits (a single word longer than that is cut where it must be)."""
    words = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return trim_words(words, max_length, "_") or "sound"


def trim_words(text: str, max_length: int, separator: str = " ") -> str:
    """`text` cut to at most `max_length` characters at a `separator`, never inside a word unless its
    first word alone is longer."""
    if len(text) <= max_length:
        return text
    cut = text[: max_length + 1].rsplit(separator, 1)[0] if separator in text[: max_length + 1] else ""
    return (cut or text[:max_length]).rstrip(separator)


def plan_outputs(
    out: Path, count: int, names: list[str] | None = None, overwrite: bool = False, create: bool = False
) -> list[Path]:
    """The file paths `count` results will be written to, checked before any work is done.

    `out` is a .wav file (one result: exactly it; several: out_1.wav, out_2.wav, ...) or an existing
    folder (`create`: made if missing), where the files are `names` + .wav (default take_1 ...). Existing
    files are never replaced unless `out` names them and `overwrite`; in a folder a free name is chosen
    instead (name-2.wav, ...), also among the names of this batch. The folder must take a file now.
    """
    if create:
        try:
            out.mkdir(exist_ok=True)
        except OSError as error:
            raise OutputError(f"{out}: cannot create the folder ({error.strerror or error})") from None
    if out.is_dir():
        check_writable(out)
        chosen: list[Path] = []
        for name in names or [f"take_{i}" for i in range(1, count + 1)]:
            chosen.append(_free_name(out / f"{name}.wav", chosen))
        return chosen
    if out.suffix.lower() != ".wav":
        raise OutputError(f"{out}: give a .wav file or an existing folder")
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{out} is a symbolic link to {os.readlink(out)}, which does not exist")
    if not out.parent.is_dir():
        raise OutputError(f"{out}: folder {out.parent} does not exist")
    check_writable(out.parent)
    paths = [out] if count == 1 else [out.with_name(f"{out.stem}_{i}.wav") for i in range(1, count + 1)]
    taken = [path for path in paths if os.path.lexists(path)]
    if taken and not overwrite:
        raise OutputError(f"{taken[0]} already exists; choose another name or allow replacing it", taken[0])
    return paths


def check_writable(folder: Path) -> None:
    """OutputError unless a file can be made in `folder` now and the disk has room for a take."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
        free = shutil.disk_usage(folder).free
    except OSError as error:
        raise OutputError(f"cannot write in {folder}: {error.strerror or error}") from None
    if free < MIN_FREE_BYTES:
        raise OutputError(f"cannot write in {folder}: only {free // 1024} KB free on its disk")


def _free_name(path: Path, chosen: list[Path]) -> Path:
    candidate, n = path, 2
    while os.path.lexists(candidate) or candidate in chosen:  # a dangling symlink takes its name too
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
    """Write a WAV atomically (see the module's text); OutputError names the file and the reason.

    `bit_depth` 16 (TPDF-dithered), 24 or 32f (float); `add_chunks` may rewrite the finished file's
    bytes (provenance chunks) before it is written. Without `overwrite` the final link fails if the name
    was taken meanwhile, and the file found there is left untouched.
    """
    data = wav_bytes(audio, sample_rate, bit_depth)
    return write_file(path, add_chunks(data) if add_chunks is not None else data, overwrite)


def wav_bytes(audio: np.ndarray, sample_rate: int, bit_depth: str = "32f") -> bytes:
    """A whole WAV file in memory: 16 (TPDF-dithered), 24 or 32f (float) bits."""
    samples = to_pcm(np.asarray(audio, dtype=np.float32), bit_depth)
    encoded = io.BytesIO()
    sf.write(encoded, samples, sample_rate, subtype=SUBTYPES[bit_depth], format="WAV")
    return encoded.getvalue()


def write_file(path: Path, data: bytes, overwrite: bool = False) -> Path:
    """`data` as `path`, atomically (see the module's text); OutputError names the file and the reason."""
    try:
        write_atomically(path, data, overwrite)
    except FileExistsError:
        raise OutputError(f"{path} appeared while writing; it was left untouched") from None
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error}); nothing was left") from None
    return path


def write_text(path: Path, text: str) -> Path:
    """Replace `path` with `text` atomically: a reader sees the old file or the new one, never half."""
    write_atomically(path, text.encode("utf-8"), overwrite=True)
    return path


def write_atomically(path: Path, data: bytes, overwrite: bool) -> None:
    """`data` as `path`, whole or not at all; OSError (FileExistsError: the name is taken) says why not."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=PART, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())  # on the disk before its name: a power cut leaves old or new
        os.chmod(temporary, FILE_MODE)
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
        _sync_folder(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _sync_folder(folder: Path) -> None:
    """Make a new name durable (POSIX: fsync the directory); not possible on Windows, where it is a no-op."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def remove_stale_parts(folder: Path) -> list[Path]:
    """Remove the `.part` files in `folder` whose writing process is gone (killed mid-write)."""
    removed = []
    for path in folder.glob(f".*{PART}"):
        _name, pid, _random = path.name.removesuffix(PART).rsplit(".", 2)  # see write_atomically
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, under another user
        return True
    return True


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
