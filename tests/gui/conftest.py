"""The GUI tests' fixtures: a private data folder, and the app open on the tiny checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers.app_window import open_app


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOUNDLOOM_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def app(qtbot, tiny_checkpoint: Path, data_dir: Path):
    app = open_app(qtbot, tiny_checkpoint)
    yield app
    app.close()
