"""Previews while a take is denoised: what reaches the sink, when, and that the take is unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from soundloom.engine import GenerationRequest
from soundloom.engine.device import Hardware
from soundloom.engine.preview import BUDGET, MAX_PREVIEWS, Previewer, cheap_bfloat16


def test_previews_arrive_while_denoising_and_leave_the_take_unchanged(engine_model) -> None:
    request = GenerationRequest("rain on a tin roof", duration_s=1.0, steps=12, seed=5, variations=2)
    heard: list[tuple[np.ndarray, float]] = []
    steps_seen: list[int] = []
    with_preview = engine_model.generate(
        request,
        progress=lambda step, total: steps_seen.append(step),
        preview=lambda w, f: heard.append((w, f)),
    )
    plain = engine_model.generate(request)
    for take, same in zip(with_preview, plain, strict=True):
        np.testing.assert_array_equal(take.audio, same.audio)
    assert heard, "no preview was made"
    fractions = [fraction for _, fraction in heard]
    assert fractions == sorted(fractions) and fractions[0] >= 0.25 and fractions[-1] < 1.0
    samples = len(plain[0].audio)
    for waveform, _ in heard:
        assert waveform.dtype == np.float32 and waveform.shape == (samples,)
        assert np.isfinite(waveform).all() and np.abs(waveform).max() > 0
    # A late preview sounds more like the take than an early one: both are estimates of it.
    first, last = heard[0][0], heard[-1][0]
    take = plain[0].audio
    if len(heard) > 1:

        def envelope(wave: np.ndarray) -> np.ndarray:
            return np.log(np.abs(wave[: samples // 160 * 160]).reshape(-1, 160).mean(1) + 1e-5)

        assert (
            np.abs(envelope(last) - envelope(take)).mean() <= np.abs(envelope(first) - envelope(take)).mean()
        )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(previewer: Previewer, clock: Clock, total: int, step_s: float, decode_s: float) -> list[float]:
    """Simulated sampling: each step takes step_s; each decode takes decode_s. The fractions previewed."""
    heard: list[float] = []
    previewer.sink = lambda waveform, fraction: heard.append(fraction)

    def decode(x0: torch.Tensor) -> np.ndarray:
        clock.now += decode_s
        return np.zeros(4, np.float32)

    previewer.decode = decode
    for step in range(1, total + 1):
        clock.now += step_s
        previewer(step, total, torch.zeros(1))
    return heard


@pytest.mark.parametrize("decode_s", [0.01, 0.5, 1.0, 3.0])
def test_previews_stay_within_their_budget_after_the_first(decode_s: float) -> None:
    clock = Clock()
    previewer = Previewer(lambda x0: np.zeros(1), lambda w, f: None, clock)
    heard = run(previewer, clock, total=20, step_s=1.0, decode_s=decode_s)
    assert heard and heard[0] == 0.25  # the first after a quarter of the steps, whatever it costs
    assert len(heard) <= MAX_PREVIEWS and 1.0 not in heard
    if len(heard) > 1:  # later ones only while the total stays within the budget of the sampling time
        assert previewer.spent <= BUDGET * 20 * 1.0 + 1e-9
    if decode_s >= 3.0:
        assert len(heard) == 1  # one slow preview already used the budget up
    if decode_s <= 0.01:
        assert len(heard) >= 4  # cheap decoding: several, spaced out


def test_preview_decodes_in_bfloat16_only_where_it_is_native() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert cheap_bfloat16(cpu, Hardware(cpu_bf16=True)) and not cheap_bfloat16(cpu, Hardware())
    assert cheap_bfloat16(cuda, Hardware(cuda_devices=1, cuda_bf16=True))
    assert not cheap_bfloat16(cuda, Hardware(cuda_devices=1)) and not cheap_bfloat16(torch.device("mps"))


def test_a_known_cost_keeps_even_the_first_preview_within_the_budget() -> None:
    clock = Clock()
    known = Previewer(lambda x0: np.zeros(1), lambda w, f: None, clock, known_cost=3.0)
    assert run(known, clock, total=20, step_s=1.0, decode_s=3.0) == []  # 3 s > 10% of 20 s of sampling
    clock = Clock()
    cheap = Previewer(lambda x0: np.zeros(1), lambda w, f: None, clock, known_cost=0.5)
    assert run(cheap, clock, total=20, step_s=1.0, decode_s=0.5)[0] == 0.25
