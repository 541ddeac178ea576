"""Checked reads of preset fields: each failure is a PresetError naming the field."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import PresetError


@dataclass(frozen=True)
class Param:
    """One parameter of a built-in effect: a number in [low, high] with a unit, or one of `choices`."""

    default: float | str
    low: float = -math.inf
    high: float = math.inf
    unit: str = ""
    choices: tuple[str, ...] = ()
    below_nyquist: bool = False  # a frequency that must stay under half the sample rate
    multiple_of: float | None = None
    enum: Any = None  # the Pedalboard enum whose member names are `choices` (built into that member)


def check_keys(entry: dict[str, Any], allowed: set[str]) -> None:
    for key in entry:
        if key not in allowed:
            raise PresetError(f"unknown field (allowed: {', '.join(sorted(allowed))})", key=key)


def field_value(entry: dict[str, Any], name: str, param: Param) -> float | str:
    if param.choices:
        value = entry.get(name, param.default)
        if value not in param.choices:
            raise PresetError(f"must be one of {', '.join(param.choices)}, got {value!r}", key=name)
        return value
    if isinstance(param.default, str):  # a file name, checked by the caller
        if name not in entry:
            raise PresetError("is required", key=name)
        return text(entry, name)
    return number(entry, name, param)


def number(entry: dict[str, Any], name: str, param: Param) -> float:
    value = entry.get(name, param.default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PresetError(f"must be a number ({param.unit or 'no unit'}), got {value!r}", key=name)
    if not (param.low <= value <= param.high):
        unit = f" {param.unit}" if param.unit and not param.unit.startswith(":") else ""
        raise PresetError(f"{value:g} is outside {param.low:g} to {param.high:g}{unit}", key=name)
    if param.multiple_of and value % param.multiple_of:
        raise PresetError(f"must be a multiple of {param.multiple_of:g}, got {value:g}", key=name)
    return float(value)


def text(entry: dict[str, Any], name: str, required: bool = False, default: Any = None) -> Any:
    if name not in entry:
        if required:
            raise PresetError("is required", key=name)
        return default
    value = entry[name]
    if not isinstance(value, str):
        raise PresetError(f"must be a string, got {value!r}", key=name)
    return value


def flag(entry: dict[str, Any], name: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise PresetError(f"must be true or false, got {value!r}", key=name)
    return value
