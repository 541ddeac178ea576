"""The `soundloom` console script as tests run it: a real process, its output and exit code."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOUNDLOOM = shutil.which("soundloom") or pytest.fail("the soundloom console script is not installed")


def soundloom(*args: str | Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SOUNDLOOM, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def generate(
    prompt: str, model: str | Path, out: Path, *flags: str, env: dict | None = None, **options
) -> subprocess.CompletedProcess:
    """`soundloom generate` with short, fast defaults; options are flag=value (sampler="ddim")."""
    settings = {"duration": "0.3", "steps": "2", **options}
    arguments = [item for key, value in settings.items() for item in (f"--{key}", str(value))]
    return soundloom("generate", prompt, "--model", model, "--out", out, *arguments, *flags, env=env)


def files_in(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}
