"""Effect chains as data: the built-in Pedalboard effects, their parameters with units and ranges, and
external VST3/AU plugins; `build_board` turns a chain into the `pedalboard.Pedalboard` that runs it.

A chain is only data (no plugin objects), so it can be saved, compared, written into a file's provenance
and rebuilt at any sample rate. Values are checked here, before Pedalboard sees them, so a preset with a
bad value fails with the effect and field named instead of a native error or a silent clamp.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pedalboard

from .errors import PresetError
from .fields import Param, check_keys, field_value, flag, number, text

PLUGIN = "plugin"  # an effect `type` naming an external VST3 (or AU on macOS) plugin file
TAIL_MODES = ("keep", "cut")


def _hz(default: float) -> Param:
    return Param(default, 10.0, 96000.0, "Hz", below_nyquist=True)


def _mix(default: float) -> Param:
    return Param(default, 0.0, 1.0)


def _member(enum: Any, default: str) -> Param:
    """One of a Pedalboard enum's members, by name (a preset file holds the name)."""
    return Param(default, choices=tuple(enum.__members__), enum=enum)


_THRESHOLD_DB = Param(-18.0, -80.0, 0.0, "dB")
_ATTACK_MS = Param(1.0, 0.01, 1000.0, "ms")
_RELEASE_MS = Param(100.0, 1.0, 5000.0, "ms")
_Q = Param(0.7071, 0.05, 20.0)
_SHELF_GAIN_DB = Param(0.0, -48.0, 48.0, "dB")
_SLOPE = Param(6.0, 6.0, 48.0, "dB/oct", multiple_of=6.0)

# type name -> its parameters, in Pedalboard's own names (so `pedalboard.<type>(**params)` builds it).
BUILTIN_EFFECTS: dict[str, dict[str, Param]] = {
    "Gain": {"gain_db": Param(0.0, -96.0, 48.0, "dB")},
    "Compressor": {
        "threshold_db": _THRESHOLD_DB,
        "ratio": Param(4.0, 1.0, 100.0, ":1"),
        "attack_ms": _ATTACK_MS,
        "release_ms": _RELEASE_MS,
    },
    # JUCE's limiter, as Pedalboard ships it: a 0 dBFS ceiling driven by -threshold_db of makeup gain.
    "Limiter": {"threshold_db": Param(-1.0, -60.0, 0.0, "dB"), "release_ms": _RELEASE_MS},
    "NoiseGate": {
        "threshold_db": Param(-60.0, -100.0, 0.0, "dB"),
        "ratio": Param(10.0, 1.0, 100.0, ":1"),
        "attack_ms": _ATTACK_MS,
        "release_ms": _RELEASE_MS,
    },
    "Reverb": {
        "room_size": _mix(0.5),
        "damping": _mix(0.5),
        "wet_level": _mix(0.33),
        "dry_level": _mix(0.4),
        "width": _mix(1.0),
        "freeze_mode": _mix(0.0),
    },
    "Delay": {
        "delay_seconds": Param(0.5, 0.0, 10.0, "s"),
        "feedback": Param(0.0, 0.0, 0.99),
        "mix": _mix(0.5),
    },
    "Chorus": {
        "rate_hz": Param(1.0, 0.01, 99.0, "Hz"),
        "depth": _mix(0.25),
        "centre_delay_ms": Param(7.0, 1.0, 99.0, "ms"),
        "feedback": Param(0.0, -0.95, 0.95),
        "mix": _mix(0.5),
    },
    "Phaser": {
        "rate_hz": Param(1.0, 0.01, 99.0, "Hz"),
        "depth": _mix(0.5),
        "centre_frequency_hz": _hz(1300.0),
        "feedback": Param(0.0, -0.95, 0.95),
        "mix": _mix(0.5),
    },
    "Distortion": {"drive_db": Param(25.0, 0.0, 80.0, "dB")},
    "Bitcrush": {"bit_depth": Param(8.0, 1.0, 32.0, "bits")},
    "Clipping": {"threshold_db": Param(-6.0, -60.0, 0.0, "dB")},
    "PitchShift": {"semitones": Param(0.0, -48.0, 48.0, "st")},
    # Pedalboard's pass filters are first order (6 dB/oct); a steeper slope cascades them (see _pass_filter).
    "LowpassFilter": {"cutoff_frequency_hz": _hz(5000.0), "slope_db_oct": _SLOPE},
    "HighpassFilter": {"cutoff_frequency_hz": _hz(80.0), "slope_db_oct": _SLOPE},
    "LowShelfFilter": {"cutoff_frequency_hz": _hz(200.0), "gain_db": _SHELF_GAIN_DB, "q": _Q},
    "HighShelfFilter": {"cutoff_frequency_hz": _hz(5000.0), "gain_db": _SHELF_GAIN_DB, "q": _Q},
    "PeakFilter": {"cutoff_frequency_hz": _hz(1000.0), "gain_db": _SHELF_GAIN_DB, "q": _Q},
    "LadderFilter": {
        "mode": _member(pedalboard.LadderFilter.Mode, "LPF24"),
        "cutoff_hz": _hz(1000.0),
        "resonance": _mix(0.0),
        "drive": Param(1.0, 1.0, 50.0),
    },
    # impulse_response: a WAV/AIFF/FLAC file, relative to the preset file's folder or absolute. JUCE
    # normalises its level, so the wet level does not depend on how loud the file was recorded.
    "Convolution": {"impulse_response": Param(""), "mix": _mix(1.0)},
    "Resample": {
        "target_sample_rate": Param(8000.0, 1000.0, 384000.0, "Hz"),
        "quality": _member(pedalboard.Resample.Quality, "WindowedSinc32"),
    },
    # The GSM 06.10 full-rate phone codec (8 kHz, 13 kbit/s) at any rate: phones, radios, intercoms. The
    # audio is resampled to 8 kHz and back with `quality`, so nothing is left above 4 kHz.
    "GSMFullRateCompressor": {"quality": _member(pedalboard.Resample.Quality, "WindowedSinc8")},
}


@dataclass(frozen=True)
class Effect:
    """One stage of a chain: a built-in `type` with `params`, or `type = "plugin"` with a plugin file.

    For plugins, `params` are the plugin's own parameter values and `state` its raw saved state (applied
    first, then `params` on top).
    """

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    bypass: bool = False
    path: str | None = None  # plugin file, or the resolved impulse response for Convolution
    plugin_name: str | None = None  # which plugin of a multi-plugin (shell) file
    state: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        """The preset-file form of this effect (TOML/JSON-ready)."""
        entry: dict[str, Any] = {"type": self.type}
        if self.bypass:
            entry["bypass"] = True
        if self.type == PLUGIN:
            entry["path"] = self.path
            if self.plugin_name:
                entry["plugin_name"] = self.plugin_name
            if self.state is not None:
                entry["state"] = base64.b64encode(self.state).decode("ascii")
            if self.params:
                entry["parameters"] = dict(self.params)
        else:
            entry.update(self.params)
        return entry


@dataclass(frozen=True)
class EffectChain:
    """An ordered list of effects, and what happens to the tail they ring on with past the dry end.

    tail "keep": render up to `tail_max_s` past the end, trim where it has decayed below -60 dB of the
    peak, fade the last `tail_fade_s`; "cut": the result is exactly as long as the dry audio.
    """

    name: str = "dry"
    effects: tuple[Effect, ...] = ()
    tail: str = "keep"
    tail_max_s: float = 5.0
    tail_fade_s: float = 0.25
    description: str = ""

    @property
    def active(self) -> tuple[Effect, ...]:
        return tuple(effect for effect in self.effects if not effect.bypass)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "effects",
            "name": self.name,
            "description": self.description,
            "tail": self.tail,
            "tail_max_s": self.tail_max_s,
            "tail_fade_s": self.tail_fade_s,
            "effect": [effect.to_dict() for effect in self.effects],
        }


def parse_chain(data: dict[str, Any], base_folder: Path) -> EffectChain:
    """An EffectChain from a preset's table; PresetError names the field of the first bad value."""
    check_keys(data, {"kind", "name", "description", "tail", "tail_max_s", "tail_fade_s", "effect"})
    name = text(data, "name", required=True)
    tail = text(data, "tail", default="keep")
    if tail not in TAIL_MODES:
        raise PresetError(f"tail must be one of {', '.join(TAIL_MODES)}, got {tail!r}", key="tail")
    raw_effects = data.get("effect", [])
    if not isinstance(raw_effects, list) or not all(isinstance(entry, dict) for entry in raw_effects):
        raise PresetError("effect must be a list of tables ([[effect]] blocks)", key="effect")
    return EffectChain(
        name=name,
        effects=tuple(_parse_effect(entry, index, base_folder) for index, entry in enumerate(raw_effects)),
        tail=tail,
        tail_max_s=number(data, "tail_max_s", Param(5.0, 0.0, 60.0, "s")),
        tail_fade_s=number(data, "tail_fade_s", Param(0.25, 0.0, 10.0, "s")),
        description=text(data, "description", default=""),
    )


def _parse_effect(entry: dict[str, Any], index: int, base_folder: Path) -> Effect:
    kind = entry.get("type")
    try:
        if kind == PLUGIN:
            return _parse_plugin(entry, base_folder)
        if kind not in BUILTIN_EFFECTS:
            known = ", ".join([*BUILTIN_EFFECTS, PLUGIN])
            raise PresetError(f"unknown effect type {kind!r} (known: {known})", key="type")
        params = BUILTIN_EFFECTS[kind]
        check_keys(entry, {"type", "bypass", *params})
        values = {name: field_value(entry, name, param) for name, param in params.items()}
        path = None
        if kind == "Convolution":  # resolved now, so the chain means the same wherever it is saved
            path = values["impulse_response"] = str(_existing_file(entry, "impulse_response", base_folder))
        return Effect(kind, values, bypass=flag(entry, "bypass"), path=path)
    except PresetError as error:
        raise error.inside_effect(index, kind) from None


def _parse_plugin(entry: dict[str, Any], base_folder: Path) -> Effect:
    check_keys(entry, {"type", "bypass", "path", "plugin_name", "state", "parameters"})
    # .vst3 and .component plugins are bundles (folders) on macOS
    path = _existing_file(entry, "path", base_folder, folders_allowed=True)
    state = None
    if "state" in entry:
        try:
            state = base64.b64decode(text(entry, "state"), validate=True)
        except binascii.Error:
            raise PresetError("state must be the plugin's raw state in base64", key="state") from None
    parameters = entry.get("parameters", {})
    if not isinstance(parameters, dict) or not all(
        isinstance(value, (int, float, str, bool)) for value in parameters.values()
    ):
        raise PresetError("parameters must be a table of numbers, booleans or strings", key="parameters")
    return Effect(
        PLUGIN,
        dict(parameters),
        bypass=flag(entry, "bypass"),
        path=str(path),
        plugin_name=text(entry, "plugin_name", default=None),
        state=state,
    )


def build_board(chain: EffectChain, sample_rate: int) -> pedalboard.Pedalboard:
    """The Pedalboard that runs the chain's active effects at `sample_rate`."""
    plugins = []
    for index, effect in enumerate(chain.effects):
        if effect.bypass:
            continue
        try:
            plugins.append(_build_plugin(effect, sample_rate))
        except PresetError as error:
            raise error.inside_effect(index, effect.type).in_preset(chain.name) from None
    return pedalboard.Pedalboard(plugins)


def _build_plugin(effect: Effect, sample_rate: int) -> pedalboard.Plugin:
    if effect.type == PLUGIN:
        return _load_external(effect)
    params = dict(effect.params)
    for name, param in BUILTIN_EFFECTS[effect.type].items():
        if param.below_nyquist and params[name] >= sample_rate / 2:
            raise PresetError(
                f"{params[name]:g} Hz is not below half the {sample_rate} Hz output rate", key=name
            )
    if effect.type == "Convolution":
        if not Path(effect.path).is_file():
            raise PresetError(f"impulse response file {effect.path} does not exist", key="impulse_response")
        try:
            return pedalboard.Convolution(effect.path, mix=params["mix"])
        except (RuntimeError, ValueError) as error:
            raise PresetError(f"cannot read {effect.path}: {error}", key="impulse_response") from None
    if effect.type in ("LowpassFilter", "HighpassFilter"):
        return _pass_filter(
            effect.type, params["cutoff_frequency_hz"], int(params["slope_db_oct"]) // 6, sample_rate
        )
    for name, param in BUILTIN_EFFECTS[effect.type].items():
        if param.enum is not None:
            params[name] = param.enum.__members__[params[name]]
    return getattr(pedalboard, effect.type)(**params)


def _pass_filter(kind: str, cutoff_hz: float, order: int, sample_rate: int) -> pedalboard.Plugin:
    """`order` cascaded first-order filters, each moved so the cascade is -3 dB at `cutoff_hz`.

    n identical first-order low-passes at f' give |H(f)|^2 = (1 + (f/f')^2)^-n, which is 1/2 at the
    cutoff when f' = cutoff / sqrt(2^(1/n) - 1) (high-pass: times it). The knee is softer than a
    Butterworth's, the slope the same 6n dB/oct. A stage pushed past Nyquist is held just under it.
    """
    spread = math.sqrt(2 ** (1 / order) - 1)
    stage_hz = cutoff_hz / spread if kind == "LowpassFilter" else cutoff_hz * spread
    stage_hz = min(stage_hz, 0.49 * sample_rate)
    return pedalboard.Chain([getattr(pedalboard, kind)(stage_hz) for _ in range(order)])


def _load_external(effect: Effect) -> pedalboard.Plugin:
    if not Path(effect.path).exists():
        raise PresetError(f"plugin file {effect.path} does not exist", key="path")
    try:
        plugin = pedalboard.load_plugin(effect.path, plugin_name=effect.plugin_name)
    except (ImportError, RuntimeError, ValueError) as error:
        raise PresetError(f"the plugin {effect.path} failed to load: {error}", key="path") from None
    if effect.state is not None:
        try:
            plugin.raw_state = effect.state
        except (RuntimeError, ValueError) as error:
            raise PresetError(f"the plugin refused its saved state: {error}", key="state") from None
    for name, value in effect.params.items():
        try:
            setattr(plugin, name, value)
        except (AttributeError, ValueError, TypeError) as error:
            raise PresetError(f"cannot set {name} = {value!r}: {error}", key=f"parameters.{name}") from None
    return plugin


def _existing_file(
    entry: dict[str, Any], name: str, base_folder: Path, folders_allowed: bool = False
) -> Path:
    written = text(entry, name, required=True)
    path = Path(written).expanduser()
    path = path if path.is_absolute() else base_folder / path
    if not (path.is_file() or (folders_allowed and path.is_dir())):
        raise PresetError(f"file {path} does not exist", key=name)
    return path.resolve()
