"""One table of limits (engine/limits.py): the engine's checks, the OSC protocol, prompt presets and the
command line accept exactly the same values and refuse the same ones, each before any work is queued.
(The app's widgets are checked against the same table in tests/gui/test_window.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from soundloom.engine import GenerationRequest
from soundloom.engine.limits import ETA, GENERATION_LIMITS, SAMPLER, Limit
from soundloom.host_bridge.cli import main
from soundloom.host_bridge.osc.protocol import PREFIX, ProtocolError, parse
from soundloom.presets import PresetError
from soundloom.presets.prompts import parse_prompt_preset

# Each row of the table says what every surface calls it; nothing here repeats those names.
SURFACES = [(limit, limit.osc, limit.preset or None, limit.cli) for limit in GENERATION_LIMITS]
# A value that is only allowed beside another: eta means something to the ddim sampler alone.
COMPANIONS = {ETA.field: {SAMPLER.field: "ddim"}}


def companions(limit: Limit) -> dict[str, object]:
    return COMPANIONS.get(limit.field, {})


def as_keys(limit: Limit) -> list:
    """The companion fields as OSC key/value pairs."""
    by_field = {row.field: row for row in GENERATION_LIMITS}
    return [item for name, value in companions(limit).items() for item in (by_field[name].osc, value)]


def as_flags(limit: Limit) -> list[str]:
    by_field = {row.field: row for row in GENERATION_LIMITS}
    return [item for name, value in companions(limit).items() for item in (by_field[name].cli, str(value))]


def edge_values(limit: Limit) -> list[tuple[object, bool]]:
    """(value, allowed): both ends of the range and just past each, or each choice and one more."""
    if limit.choices:
        return [(choice, True) for choice in limit.choices] + [("heun", False)]
    step = 1 if limit.whole else 0.01
    low, high = (int(limit.low), int(limit.high)) if limit.whole else (limit.low, limit.high)
    return [(low, True), (high, True), (low - step, False), (high + step, False)]


def engine_allows(limit: Limit, value: object) -> bool:
    return not GenerationRequest("rain", **{limit.field: value, **companions(limit)}).problems()


def osc_allows(limit: Limit, value: object) -> bool:
    try:
        parse(PREFIX + "generate", ["id", "rain", limit.osc, value, *as_keys(limit)])
    except ProtocolError:
        return False
    return True


def preset_allows(key: str, value: object) -> bool:
    try:
        parse_prompt_preset({"name": "p", "template": "rain", key: value})
    except PresetError:
        return False
    return True


def cli_allows(limit: Limit, value: object, tmp_path: Path, capsys: pytest.CaptureFixture) -> bool:
    """The CLI checks the request before it loads a model: a refused value names the limit, an allowed
    one gets as far as the (missing) model."""
    missing = tmp_path / "no-such-model"
    out = str(tmp_path / "o.wav")
    code = main(
        ["generate", "rain", "--model", str(missing), "--out", out, limit.cli, str(value), *as_flags(limit)]
    )
    error = capsys.readouterr().err
    assert code == 2
    return str(missing) in error and "must be" not in error


@pytest.mark.parametrize(("limit", "osc_key", "preset_key", "flag"), SURFACES, ids=[s[1] for s in SURFACES])
def test_every_surface_draws_the_same_line(limit, osc_key, preset_key, flag, tmp_path, capsys) -> None:
    for value, allowed in edge_values(limit):
        seen = {"engine": engine_allows(limit, value), "osc": osc_allows(limit, value)}
        seen["cli"] = cli_allows(limit, value, tmp_path, capsys)
        if preset_key is not None:
            seen["preset"] = preset_allows(preset_key, value)
        assert seen == dict.fromkeys(seen, allowed), f"{limit.field}={value!r}"


def test_a_refusal_reads_the_same_on_every_surface(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    expected = "guidance must be between 0 and 30, got 45"
    assert GenerationRequest("rain", guidance_scale=45).problems() == [expected]
    with pytest.raises(ProtocolError, match=expected):
        parse(PREFIX + "generate", ["id", "rain", "guidance", 45])
    with pytest.raises(PresetError, match=expected):
        parse_prompt_preset({"name": "p", "template": "rain", "guidance_scale": 45})
    assert main(["generate", "rain", "--out", str(tmp_path / "o.wav"), "--guidance", "45"]) == 2
    assert capsys.readouterr().err.strip() == f"soundloom: error: {expected}"
