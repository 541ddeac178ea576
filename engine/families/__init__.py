"""Model families, by name: each module reads a checkpoint folder into `Parts` (engine/parts/).

The one place that knows which module serves which family; modules are imported when a model of theirs
is loaded (stable-audio-tools' factory pattern), and no family imports another. Adding a family: its
module with `load_parts(folder, model_id, device, dtype, allow_pickle) -> Parts`, one entry here, and how
`checkpoints.checkpoint_family` recognises its folders (docs/architecture.md, "How to add a family").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

FAMILIES = {"audioldm": "audioldm", "audioldm2": "audioldm2"}  # family name -> module in this package


def family_loader(family: str) -> Callable[..., Any]:
    """The `load_parts` function of a family by name."""
    return importlib.import_module(f".{FAMILIES[family]}", __package__).load_parts
