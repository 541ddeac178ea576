"""The jobs layer's typed job: one JobSpec whatever surface built it, its wire form, every reason it
cannot run at once, and the delivery it asks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from soundloom.engine.limits import REQUEST_LIMITS, VARIATIONS
from soundloom.host_bridge.cli import build_parser
from soundloom.host_bridge.cli.options import job_spec
from soundloom.host_bridge.cli.render import render_fields
from soundloom.host_bridge.jobs.delivery import delivery_for
from soundloom.host_bridge.jobs.options import JOB_OPTIONS
from soundloom.host_bridge.jobs.spec import JobSpec
from soundloom.host_bridge.osc.protocol import PREFIX, job_command, parse
from soundloom.presets import ExportSettings, load_library
from soundloom.presets.render import NO_CHAIN


def test_every_request_limit_is_a_job_option_and_a_spec_field() -> None:
    for limit in REQUEST_LIMITS:
        assert JOB_OPTIONS[limit.osc].field == limit.field
        assert limit.field in JobSpec.__dataclass_fields__


def test_the_wire_form_round_trips() -> None:
    message = ["j1", "/clips/door.wav", "metal", "strength", 0.3, "seed", 7, "loop", 1, "fx", "Lo-fi"]
    command = parse(PREFIX + "transfer", message)
    spec = command.spec()
    assert (spec.operation, spec.input, spec.prompt, spec.strength, spec.seed) == (
        "transfer",
        "/clips/door.wav",
        "metal",
        0.3,
        7,
    )
    assert spec.loop is True and spec.options()["loop"] == 1
    assert job_command("j1", spec) == command  # the app's spec and the DAW's message are one job


def test_problems_lists_every_reason_at_once() -> None:
    spec = JobSpec("inpaint", "", "", steps=0, duration_s=2.0, preview=True, sampler="heun")
    problems = spec.problems()
    assert "steps must be between 1 and 1000, got 0" in problems
    assert any(p.startswith("sampler must be one of dpm++, ddim, euler") for p in problems)
    assert "the prompt is empty" in problems and "the input path is empty" in problems
    assert "inpaint: the input clip sets the length" in problems
    assert "inpaint needs start and end (seconds)" in problems
    assert "inpaint: previews are made for generate only" in problems
    assert JobSpec("generate", "rain").problems() == []


def test_a_spec_left_empty_takes_the_engines_and_the_deliverys_defaults() -> None:
    spec = JobSpec("generate", "rain")
    request = spec.generation(None)
    assert request.variations == VARIATIONS.default and request.seed is None and request.eta == 0.0
    delivery = delivery_for(spec, load_library(), "{prompt}_{seed}")
    assert delivery.chain == NO_CHAIN and delivery.export == ExportSettings() and delivery.keep_dry
    assert delivery.name_pattern == "{prompt}_{seed}"


def test_the_command_line_builds_the_same_spec(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["transfer", str(tmp_path / "in.wav"), "metal", "--strength", "0.3", "--seed", "7", "--loop",
         "--fx", "Lo-fi", "--out", str(tmp_path), "--stereo", "wide", "--fade-in", "0.1", "--bits", "24"]
    )  # fmt: skip
    spec = job_spec(args, "transfer", "metal", args.input, render=render_fields(args))
    assert (spec.strength, spec.seed, spec.loop, spec.fx) == (0.3, 7, True, "Lo-fi")
    delivery = delivery_for(spec, load_library(), "")
    assert (delivery.export.stereo_mode, delivery.export.fade_in_s, delivery.export.bit_depth) == (
        "wide",
        0.1,
        "24",
    )
    assert delivery.chain.name == "Lo-fi" and delivery.keep_dry


@pytest.mark.parametrize("fx", ["none", ""])
def test_no_effects_is_none_or_nothing(fx: str) -> None:
    assert delivery_for(JobSpec("generate", "rain", fx=fx), load_library(), "x").chain == NO_CHAIN
