"""A checkpoint laid out as huggingface_hub's cache does, so hub ids resolve offline."""

from __future__ import annotations

import shutil
from pathlib import Path


def put_in_hub_cache(checkpoint: Path, cache: Path, repo_id: str) -> Path:
    """Lay a checkpoint out as huggingface_hub's cache does: refs/main -> snapshots/<commit>/."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(checkpoint, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return repo / "snapshots" / commit
