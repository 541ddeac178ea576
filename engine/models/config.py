"""Reading a component's config.json into its dataclass.

Keys the dataclass names are taken; bookkeeping keys (`_class_name`, `_diffusers_version`, ...) and keys
that do not change the network are ignored; keys that would change the network in a way this engine does
not implement must hold their default value, or loading stops with an error naming the key.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from ..errors import EngineError

ConfigT = TypeVar("ConfigT")


def config_from_dict(
    cls: type[ConfigT], raw: dict[str, Any], source: str, must_equal: dict[str, tuple[Any, ...]] | None = None
) -> ConfigT:
    """Build `cls` from a parsed config.json; `must_equal` maps a key to the values we support."""
    for key, allowed in (must_equal or {}).items():
        if key in raw and raw[key] not in allowed:
            raise EngineError(f"{source}: {key}={raw[key]!r} is not supported (supported: {list(allowed)})")
    names = {field.name for field in dataclasses.fields(cls)}
    values = {key: value for key, value in raw.items() if key in names}
    try:
        return cls(**values)
    except TypeError as error:  # a required key is missing
        raise EngineError(f"{source}: {error}") from None


def per_block(value: Any, count: int, name: str) -> list[Any]:
    """Configs give some settings once for all blocks or as a list per block; always return the list."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(values) != count:
        raise EngineError(f"{name} has {len(values)} entries for {count} blocks")
    return values
