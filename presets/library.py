"""Preset files: one TOML file per preset, built-in ones in this package, a user's own in the platform's
config folder (a user preset replaces the built-in one of the same name).

A broken file never stops the others from loading: the library keeps its error, naming the file, line
and field, and `soundloom presets validate` prints them all.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .effects import EffectChain, parse_chain
from .errors import PresetError
from .prompts import PromptPreset, parse_prompt_preset

BUILTIN_FOLDER = Path(__file__).parent / "builtin"
KINDS = ("effects", "prompt")
Preset = EffectChain | PromptPreset


def user_preset_folder() -> Path:
    """Where a user's presets live: $SOUNDLOOM_CONFIG_DIR/presets, else the platform's config folder."""
    if os.environ.get("SOUNDLOOM_CONFIG_DIR"):
        return Path(os.environ["SOUNDLOOM_CONFIG_DIR"]) / "presets"
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "soundloom" / "presets"


def preset_key(name: str) -> str:
    """Names compare loosely: 'Cinematic Impact', 'cinematic-impact' and 'cinematic_impact' are one."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")


@dataclass(frozen=True)
class PresetEntry:
    preset: Preset
    path: Path
    builtin: bool

    @property
    def kind(self) -> str:
        return "effects" if isinstance(self.preset, EffectChain) else "prompt"


@dataclass
class PresetLibrary:
    effects: dict[str, PresetEntry] = field(default_factory=dict)  # preset_key(name) -> entry
    prompts: dict[str, PresetEntry] = field(default_factory=dict)
    errors: list[PresetError] = field(default_factory=list)

    def effect(self, name: str) -> EffectChain:
        """The effect preset called `name`, or the preset file at path `name` (*.toml)."""
        if name.endswith(".toml"):
            preset = load_preset_file(Path(name))
            if not isinstance(preset, EffectChain):
                raise PresetError(f"{name} is a prompt preset, not an effect chain")
            return preset
        return self._find(self.effects, name, "effect").preset

    def prompt(self, name: str) -> PromptPreset:
        return self._find(self.prompts, name, "prompt").preset

    def _find(self, entries: dict[str, PresetEntry], name: str, kind: str) -> PresetEntry:
        entry = entries.get(preset_key(name))
        if entry is None:
            broken = [
                error
                for error in self.errors
                if error.preset and preset_key(error.preset) == preset_key(name)
            ]
            if broken:
                raise broken[0]
            known = ", ".join(sorted(entry.preset.name for entry in entries.values())) or "none"
            raise PresetError(f"no {kind} preset called {name!r} (known: {known})")
        return entry


def load_library(folders: list[tuple[Path, bool]] | None = None) -> PresetLibrary:
    """Every preset under the built-in folder, then the user's folder (later folders win by name)."""
    folders = folders if folders is not None else [(BUILTIN_FOLDER, True), (user_preset_folder(), False)]
    library = PresetLibrary()
    for folder, builtin in folders:
        for path in sorted(folder.rglob("*.toml")) if folder.is_dir() else []:
            try:
                preset = load_preset_file(path)
            except PresetError as error:
                library.errors.append(error)
                continue
            entries = library.effects if isinstance(preset, EffectChain) else library.prompts
            entries[preset_key(preset.name)] = PresetEntry(preset, path, builtin)
    for key, entry in list(library.prompts.items()):  # a prompt preset's suggested chain must exist
        fx = entry.preset.fx
        if fx and preset_key(fx) not in library.effects:
            error = PresetError(f"names the effect preset {fx!r}, which does not exist", key="fx")
            library.errors.append(
                error.in_preset(entry.preset.name).at(str(entry.path), _line_of(entry.path, error))
            )
            del library.prompts[key]
    return library


def load_preset_file(path: Path) -> Preset:
    """Parse and check one preset file; PresetError says file, line, preset and field."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PresetError(f"cannot read the file ({error})").at(str(path), None) from None
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        raise PresetError(f"not valid TOML: {error}").at(
            str(path), int(line.group(1)) if line else None
        ) from None
    try:
        return _parse(data, path.parent)
    except PresetError as error:
        name = data.get("name")
        if isinstance(name, str):
            error.in_preset(name)
        raise error.at(str(path), _line_of(path, error, source)) from None


def _parse(data: dict[str, Any], base_folder: Path) -> Preset:
    kind = data.get("kind")
    if kind == "effects":
        return parse_chain(data, base_folder)
    if kind == "prompt":
        return parse_prompt_preset(data)
    raise PresetError(f"must be one of {', '.join(KINDS)}, got {kind!r}", key="kind")


def save_preset(preset: Preset, folder: Path | None = None, overwrite: bool = False) -> Path:
    """Write `preset` as `<folder>/<key>.toml` (default: the user's folder), atomically; checks it first."""
    folder = folder or user_preset_folder()
    folder.mkdir(parents=True, exist_ok=True)
    data = {key: value for key, value in preset.to_dict().items() if value not in (None, "")}
    _parse(data, folder)  # what is saved must load back
    path = folder / f"{preset_key(preset.name)}.toml"
    if path.exists() and not overwrite:
        raise PresetError(f"{path} already exists; pass overwrite to replace it").in_preset(preset.name)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            tomli_w.dump(data, stream)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _line_of(path: Path, error: PresetError, source: str | None = None) -> int | None:
    """The line of the field an error names: inside the n-th [[effect]] block when it has one."""
    lines = (source if source is not None else path.read_text(encoding="utf-8")).splitlines()
    start, stop = 0, len(lines)
    headers = [i for i, line in enumerate(lines) if line.strip().startswith("[")]
    if error.effect_index is not None:
        blocks = [i for i in headers if re.match(r"\s*\[\[\s*effect\s*\]\]", lines[i])]
        if error.effect_index >= len(blocks):
            return None
        start = blocks[error.effect_index]
        later = [i for i in blocks if i > start]
        stop = later[0] if later else len(lines)
        if not error.key:
            return start + 1
    elif error.key and "." not in error.key:
        stop = headers[0] if headers else len(lines)  # a top-level key sits before the first table
    if error.key:
        name = re.escape(error.key.split(".")[-1])
        for i in range(start, stop):
            if re.match(rf'\s*"?{name}"?\s*=', lines[i]):
                return i + 1
    return start + 1 if error.effect_index is not None else None
