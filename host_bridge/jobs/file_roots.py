"""File safety for requests that name files: inputs only from configured roots, outputs only in one folder.

A DAW sends paths, not audio. Each is resolved (symlinks followed, `..` collapsed) before it is checked,
so neither `../../etc/passwd` nor a symlink planted in a media folder reaches outside the roots. Inputs are
only ever read.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...engine.clip import file_problem
from .errors import BAD_PATH, JobError


@dataclass(frozen=True)
class FileRoots:
    inputs: tuple[Path, ...]  # resolved folders a request may read from
    output: Path  # resolved folder every result is written into

    @classmethod
    def make(cls, inputs: list[Path], output: Path, allow_temp: bool = True) -> FileRoots:
        """Resolve the roots once; the output folder is created. The system temp folder is an input root
        unless `allow_temp` is off (DAWs render selections there)."""
        output.mkdir(parents=True, exist_ok=True)
        folders = [*inputs, Path(tempfile.gettempdir())] if allow_temp else list(inputs)
        return cls(tuple(dict.fromkeys(folder.resolve() for folder in folders)), output.resolve())

    def input_file(self, path_text: str, request_id: str = "") -> Path:
        """The resolved input path, or JobError(bad_path) saying why not."""
        if not path_text or "\x00" in path_text:
            raise JobError(BAD_PATH, "the input path is empty or holds NUL", request_id)
        path = Path(os.path.expanduser(path_text))
        if not path.is_absolute():
            raise JobError(BAD_PATH, f"{path_text[:200]}: send an absolute path", request_id)
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise JobError(BAD_PATH, f"{path_text[:200]}: no such file", request_id) from None
        if not any(resolved.is_relative_to(root) for root in self.inputs):
            roots = ", ".join(str(root) for root in self.inputs) or "none configured"
            raise JobError(
                BAD_PATH,
                f"{path_text[:200]} is outside the allowed input folders ({roots}); add --root",
                request_id,
            )
        problem = file_problem(resolved)
        if problem is not None:
            raise JobError(BAD_PATH, f"{path_text[:200]}: {problem}", request_id)
        return resolved
