"""The one table of request limits and defaults: every surface reads it, none keeps a copy.

The engine's request checks, the OSC protocol, prompt presets, the app's widgets and the command line all
come from these entries: each row names its request field and what every surface calls it (the OSC and
job-list key, the command line's flag, the prompt preset's key), so a value is accepted or refused the
same way everywhere and before a job is queued, and a row added here reaches every surface. No torch
here: the app and the bridge import it freely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .samplers import SAMPLER_NAMES


@dataclass(frozen=True)
class Limit:
    """One request field: its default and its inclusive range (or its choices), with a unit for people."""

    field: str  # the GenerationRequest / EditRequest field
    label: str  # how a message names it
    default: float | int | str | None
    low: float = -math.inf
    high: float = math.inf
    whole: bool = False  # a whole number: 2.0 is refused where an int is wanted
    unit: str = ""
    choices: tuple[str, ...] = ()
    osc: str = ""  # the OSC option and job-list key (host_bridge/osc/PROTOCOL.md)
    cli: str = ""  # the command line's flag
    preset: str = ""  # the prompt preset's key; "" where a preset cannot set it
    describes: str = ""  # what it is, before its range in a help text, where the label is not enough

    def problem(self, value: object) -> str | None:
        """Why `value` is refused, as a sentence for people; None when it is allowed."""
        if self.choices:
            if value not in self.choices:
                return f"{self.label} must be one of {', '.join(self.choices)}, got {value!r}"
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "a whole number" if self.whole else "a number"
            return f"{self.label} must be {kind}, got {value!r}"
        if self.whole and not isinstance(value, int):
            return f"{self.label} must be a whole number, got {value!r}"
        if not (math.isfinite(value) and self.low <= value <= self.high):
            return f"{self.label} must be between {self.span()}, got {self._number(value)}"
        return None

    def span(self, joiner: str = "and") -> str:
        """'1 and 1000', '0.04 and 60 s': the range as a message and the CLI's help write it."""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self._number(self.low)} {joiner} {self._number(self.high)}{unit}"

    def help(self) -> str:
        """The command line's help: range and default."""
        if self.choices:
            return f"one of {', '.join(self.choices)} (default {self.default})"
        default = "" if self.default is None else f", default {self._number(self.default)}"
        return self.span("to") + default

    def _number(self, value: float) -> str:
        return str(int(value)) if self.whole else f"{value:g}"


# Beyond 6x AudioLDM's training length quality falls apart and memory grows fast. 40 ms is one latent frame
# of the published checkpoints (4 mel frames of 10 ms); a checkpoint with a coarser VAE (the built-in one:
# 80 ms) refuses shorter lengths itself when it runs.
DURATION_S = Limit(
    "duration_s",
    "duration",
    None,
    0.04,
    60.0,
    unit="s",
    osc="duration",
    cli="--duration",
    preset="duration_s",
    describes="length",
)
STEPS = Limit("steps", "steps", 25, 1, 1000, whole=True, osc="steps", cli="--steps", preset="steps")
# Classifier-free guidance: AudioLDM's papers use 2.5-3.5; past ~20 the sound is saturated noise, and 30
# leaves room to hear that without letting a typo run a useless job.
GUIDANCE_SCALE = Limit(
    "guidance_scale",
    "guidance",
    2.5,
    0.0,
    30.0,
    osc="guidance",
    cli="--guidance",
    preset="guidance_scale",
    describes="classifier-free guidance scale",
)
# torch.Generator's seed range
SEED = Limit("seed", "seed", None, 0, 2**63 - 1, whole=True, osc="seed", cli="--seed")
# A seed left to chance is drawn below this: it fits a 32-bit int, so every DAW, OSC client and spin box
# can hold it and a user can read it back.
NEW_SEEDS = 2**31
VARIATIONS = Limit(
    "variations",
    "variations",
    1,
    1,
    16,
    whole=True,
    osc="variations",
    cli="--variations",
    preset="variations",
)
SAMPLER = Limit(  # the registry's names, the default first (engine/samplers/)
    "sampler",
    "sampler",
    SAMPLER_NAMES[0],
    choices=SAMPLER_NAMES,
    osc="sampler",
    cli="--sampler",
    preset="sampler",
)
ETA = Limit(
    "eta", "eta", 0.0, 0.0, 1.0, osc="eta", cli="--eta", describes="DDIM noise: 0 deterministic, 1 ancestral"
)
STRENGTH = Limit(
    "strength",
    "strength",
    0.5,
    0.0,
    1.0,
    osc="strength",
    cli="--strength",
    describes="transfer: 0 keeps the clip, 1 is a fresh generation",
)
FADE_S = Limit(
    "fade_s", "the crossfade", 0.02, 0.0, 1.0, unit="s", osc="fade", cli="--fade", describes="crossfade"
)
EXTEND_S = Limit(
    "extend_s",
    "extend",
    5.0,
    DURATION_S.low,
    DURATION_S.high / 2,
    unit="s",
    osc="seconds",
    cli="--seconds",
    describes="extend: how much to add",
)

MAX_DURATION_S = DURATION_S.high  # clips a DAW sends are read up to this long

GENERATION_LIMITS = (DURATION_S, STEPS, GUIDANCE_SCALE, SEED, VARIATIONS, SAMPLER, ETA)
EDIT_LIMITS = (STRENGTH, FADE_S, EXTEND_S)
REQUEST_LIMITS = GENERATION_LIMITS + EDIT_LIMITS
EDIT_OPERATIONS = ("transfer", "inpaint", "extend", "vary")

# Where the engine runs (engine/device.py resolves them). float32 is the default: the exact one.
DEVICES_HELP = "auto (CUDA, then Apple MPS, then the CPU), cuda, cuda:N, mps or cpu"
DTYPE_NAMES = ("float32", "float16", "bfloat16", "auto")
DTYPE_HELP = (
    "float32 is exact (the default); auto: bfloat16 where the device computes it natively (recent GPUs, "
    "CPUs with AVX512-BF16 or AMX), float16 on other GPUs and MPS, float32 elsewhere"
)
