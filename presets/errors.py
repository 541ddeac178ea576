"""The presets layer's one exception: it names the file, line, preset, effect and field at fault."""

from __future__ import annotations


class PresetError(Exception):
    """A preset or render setting that cannot be used; str() is one line a user can act on.

    Raised with the bare problem and the field (`key`); each layer that knows more adds it: the effect's
    position, the preset's name, the file and line.
    """

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.key = key
        self.effect_index: int | None = None  # 0-based position in the chain
        self.effect_type: str | None = None
        self.preset: str | None = None
        self.file: str | None = None
        self.line: int | None = None

    def inside_effect(self, index: int, effect_type: object) -> PresetError:
        self.effect_index, self.effect_type = index, str(effect_type)
        return self

    def in_preset(self, name: str) -> PresetError:
        self.preset = self.preset or name
        return self

    def at(self, file: str, line: int | None) -> PresetError:
        self.file, self.line = file, line
        return self

    @property
    def field(self) -> str | None:
        """The field's path as written in the file, e.g. `effect[2].ratio` (1-based, like the file)."""
        if self.effect_index is None:
            return self.key
        effect = f"effect[{self.effect_index + 1}]"
        return f"{effect}.{self.key}" if self.key else effect

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        context = []
        if self.preset:
            context.append(f"preset {self.preset!r}")
        if self.effect_index is not None:
            context.append(f"effect {self.effect_index + 1} ({self.effect_type})")
        if self.key:
            context.append(f"field {self.key!r}")
        return where + (", ".join(context) + ": " if context else "") + self.message
