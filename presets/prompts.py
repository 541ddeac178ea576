"""Prompt presets: a prompt template with named blanks, a negative prompt and generation settings.

`Footsteps on {surface}` declares `surface` with suggested values (the first is the default); a user may
fill a blank with any text. Filled, a preset gives the keyword arguments of a GenerationRequest.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from ..engine.limits import DURATION_S, REQUEST_LIMITS
from .errors import PresetError
from .fields import check_keys, flag, text

# The GenerationRequest fields a preset may set, under the keys the limits table gives them, with its ranges.
GENERATION_LIMITS = {limit.preset: limit for limit in REQUEST_LIMITS if limit.preset}


@dataclass(frozen=True)
class PromptPreset:
    name: str
    template: str
    variables: dict[str, tuple[str, ...]] = field(default_factory=dict)  # blank -> suggestions
    negative_prompt: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # GenerationRequest fields the preset sets
    fx: str | None = None  # the effect preset that suits it
    description: str = ""

    def prompt(self, values: dict[str, str] | None = None) -> str:
        """The template with each blank filled from `values`, else its first suggestion."""
        values = values or {}
        unknown = set(values) - set(self.variables)
        if unknown:
            blanks = ", ".join(self.variables) or "none"
            raise PresetError(
                f"no blank called {sorted(unknown)[0]!r} (blanks: {blanks})", key="variables"
            ).in_preset(self.name)
        filled = {name: values.get(name, choices[0]) for name, choices in self.variables.items()}
        return self.template.format(**filled)

    def request_fields(self, values: dict[str, str] | None = None) -> dict[str, Any]:
        """Keyword arguments for GenerationRequest: prompt, negative prompt and the preset's settings."""
        return {"prompt": self.prompt(values), "negative_prompt": self.negative_prompt, **self.settings}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": "prompt", "name": self.name, "description": self.description}
        data.update(template=self.template, negative_prompt=self.negative_prompt, **self.settings)
        if self.fx:
            data["fx"] = self.fx
        data["variables"] = {name: list(choices) for name, choices in self.variables.items()}
        return data


def parse_prompt_preset(data: dict[str, Any]) -> PromptPreset:
    allowed = {"kind", "name", "description", "template", "negative_prompt", "variables", "fx"}
    check_keys(data, allowed | set(GENERATION_LIMITS) | {"loop"})
    name = text(data, "name", required=True)
    template = text(data, "template", required=True)
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise PresetError("must be a table of blank = [suggestions]", key="variables")
    for blank, choices in variables.items():
        if not (isinstance(choices, list) and choices and all(isinstance(c, str) and c for c in choices)):
            raise PresetError("must list one or more suggestions (strings)", key=f"variables.{blank}")
    blanks = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    for blank in blanks:
        if blank not in variables:
            raise PresetError(f"the blank {{{blank}}} has no entry under [variables]", key="template")
    unused = set(variables) - set(blanks)
    if unused:
        raise PresetError(f"{sorted(unused)[0]!r} is not a blank in the template", key="variables")
    settings: dict[str, Any] = {}
    for key, limit in GENERATION_LIMITS.items():
        if key in data:
            problem = limit.problem(data[key])
            if problem:
                raise PresetError(problem, key=key)
            settings[limit.field] = float(data[key]) if limit is DURATION_S else data[key]
    if "loop" in data:
        settings["loop"] = flag(data, "loop")
    return PromptPreset(
        name=name,
        template=template,
        variables={blank: tuple(choices) for blank, choices in variables.items()},
        negative_prompt=text(data, "negative_prompt", default=""),
        settings=settings,
        fx=text(data, "fx", default=None),
        description=text(data, "description", default=""),
    )
