"""Real file systems that are full or read-only: a tmpfs mounted for the test (root, as in CI).

A machine where mounting is not allowed skips these tests with that reason rather than pretending."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def tmpfs(folder: Path, size_kb: int, read_only: bool = False) -> Iterator[Path]:
    """Mount a tmpfs of `size_kb` at `folder` (created) for the block; unmounted after, lazily if busy."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k" + (",ro" if read_only else "")
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mount.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave_kb: int = 0) -> Path:
    """Fill the file system under `folder` until at most `leave_kb` is free; returns the filler file."""
    filler = folder / "filler.bin"
    with open(filler, "wb") as stream:
        while True:
            free_kb = _free_kb(folder)
            if free_kb <= leave_kb:
                break
            try:
                stream.write(b"\0" * min(1 << 20, max(4096, (free_kb - leave_kb) * 1024)))
                stream.flush()
            except OSError:  # ENOSPC: full
                break
    return filler


def _free_kb(folder: Path) -> int:
    return shutil.disk_usage(folder).free // 1024
