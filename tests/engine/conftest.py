"""Fixtures the engine's training tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers.training_stages import build_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A captioned folder of one 1 s clip per category (read only: runs write to their own tmp_path)."""
    return build_corpus(tmp_path_factory.mktemp("corpus"))
