"""A fixture for test_imports: a module that imports another only for annotations."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soundloom.engine.model import DiffusionModel


def describe(model: DiffusionModel) -> str:
    return model.model_id
