"""The options a job takes, by the key the OSC protocol and job lists give them, each with its type, range
and the JobSpec field it fills. Request options come from the engine's limits table (engine/limits.py),
so every surface refuses what the engine would; the rest are the jobs layer's own (tempo, delivery, the
input window). host_bridge/osc/PROTOCOL.md is the table a client author reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ...engine import limits
from ...engine.limits import Limit
from ...presets.render import LOUDNESS_RANGE_LUFS
from ..daw.tempo import BPM_RANGE, MAX_BARS

JOB_KINDS = ("generate", "transfer", "inpaint", "extend", "vary")
NEEDS_PROMPT = ("generate", "transfer", "inpaint", "extend")
NEEDS_INPUT = ("transfer", "inpaint", "extend", "vary")
BEAT_UNITS = (1, 2, 4, 8, 16, 32)  # a time signature's denominator: whole to 32nd notes
MAX_TEXT = 1000  # prompts, paths and names; longer ones are refused, not truncated


def text_problem(name: str, value: str) -> str | None:
    """Why a prompt, path or name cannot be taken; None when it can."""
    if len(value) > MAX_TEXT or "\x00" in value:
        return f"{name} is longer than {MAX_TEXT} characters or holds NUL"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # JSON's "\ud800" alone: no file name, prompt or tokenizer can take it
        return f"{name} holds an unpaired UTF-16 surrogate"
    return None


@dataclass(frozen=True)
class Option:
    kind: type  # float accepts OSC ints too; int refuses floats
    low: float | None = None
    high: float | None = None
    help: str = ""
    choices: tuple[str, ...] = ()
    field: str = ""  # the JobSpec field it fills ("" for the transport's own: priority, reply_port, token)

    def problem(self, key: str, value: object) -> str | None:
        """Why `value` is refused for `key`, as a sentence; None when it is allowed."""
        return self.type_problem(key, value) or self.value_problem(key, value)

    def type_problem(self, key: str, value: object) -> str | None:
        """Why `value` is not of this option's type (an OSC client's bad_arguments)."""
        if self.kind is str:
            return None if isinstance(value, str) else f"{key} must be a string, got {value!r:.40}"
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (self.kind is int and isinstance(value, float))
        ):
            wanted = "an integer (i)" if self.kind is int else "a number (f or i)"
            return f"{key} must be {wanted}, got {value!r:.40}"
        return None

    def value_problem(self, key: str, value: Any) -> str | None:
        """Why a value of the right type is out of range or not a choice (an OSC client's bad_value)."""
        if self.kind is str:
            if self.choices and value not in self.choices:
                return f"{key} must be one of {', '.join(self.choices)}, got {value!r:.40}"
            return None
        low, high = self.low, self.high
        if (
            not math.isfinite(value)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            return f"{key} must be between {low:g} and {high:g}, got {value!r:.40}"
        return None


def limited(limit: Limit) -> Option:
    """An option whose range is the engine's (engine/limits.py), so every surface refuses what it would."""
    if limit.choices:
        return Option(str, help=" or ".join(limit.choices), choices=limit.choices, field=limit.field)
    words = limit.describes
    text = f"{words}, {limit.help()}" if words else limit.help()
    return Option(int if limit.whole else float, limit.low, limit.high, text, field=limit.field)


# Every job option, by key. Cross-field rules (duration or bars, inpaint's region, ...) are JobSpec's.
JOB_OPTIONS: dict[str, Option] = {
    **{limit.osc: limited(limit) for limit in limits.REQUEST_LIMITS},
    "bars": Option(
        float, 0, MAX_BARS, "length in bars at the bridge's tempo (instead of duration)", field="bars"
    ),
    "beats": Option(
        float, 0, 4 * MAX_BARS, "length in beats at the bridge's tempo (adds to bars)", field="beats"
    ),
    "bpm": Option(
        float, *BPM_RANGE, "the tempo for this request's bars/beats (else the bridge's)", field="bpm"
    ),
    "beats_per_bar": Option(int, 1, 32, "with bpm: the time signature's numerator", field="beats_per_bar"),
    "beat_unit": Option(
        int, 1, 32, "with bpm: the time signature's denominator (4 unless given)", field="beat_unit"
    ),
    "negative": Option(str, help="negative prompt", field="negative_prompt"),
    "transcript": Option(str, help="speech checkpoints: the words to speak", field="transcript"),
    "model": Option(str, help="one of the bridge's models (/soundloom/models)", field="model"),
    "loop": Option(int, 0, 1, "1: seamless at the wrap point", field="loop"),
    "rerank": Option(
        int, 0, 1, "1: order the variations by CLAP text-audio score, best first", field="rerank"
    ),
    "preview": Option(
        int, 0, 1, "generate, 1: /soundloom/preview replies while the first take is denoised", field="preview"
    ),
    "fx": Option(str, help="an effect preset's name", field="fx"),
    "rate": Option(int, 8000, 192000, "deliver at this sample rate (the DAW's)", field="rate"),
    "channels": Option(str, help="same, mono or stereo", field="channels"),
    "loudness": Option(float, *LOUDNESS_RANGE_LUFS, "integrated LUFS", field="loudness"),
    "peak": Option(float, -60, 0, "true-peak normalisation, dBTP", field="peak"),
    "bit_depth": Option(str, help="16, 24 or 32f", field="bit_depth"),
    "start": Option(float, 0, 3600, "inpaint region start, seconds into the sent region", field="start_s"),
    "end": Option(float, 0, 3600, "inpaint region end, seconds into the sent region", field="end_s"),
    "in_offset": Option(
        float, 0, 86400, "read the input from this many seconds into the file", field="in_offset_s"
    ),
    "in_length": Option(float, 0, 3600, "read this many seconds of the input", field="in_length_s"),
}
FLAGS = ("loop", "rerank", "preview")  # 0/1 on the wire, booleans in a JobSpec
