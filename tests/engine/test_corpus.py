"""The training corpus: deterministic, balanced; every category renders sound that matches its caption."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks
from soundloom.engine.training.captions import CATEGORIES, caption
from soundloom.engine.training.corpus import CATEGORY_NAMES, SAMPLE_RATE, category_for, fit_length, make_item
from soundloom.engine.training.instruments import _midi_file, render_midi
from soundloom.engine.training.procedural import alarm, bell, coloured_noise, impact


def dominant_hz(audio: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[spectrum.argmax()])


def test_at_least_twelve_categories_rotate_so_every_prefix_is_balanced() -> None:
    assert len(CATEGORY_NAMES) >= 12
    counts = {name: 0 for name in CATEGORY_NAMES}
    for index in range(3 * len(CATEGORY_NAMES)):
        counts[category_for(index)] += 1
    assert set(counts.values()) == {3}


@pytest.mark.parametrize("index", range(len(CATEGORY_NAMES)))
def test_every_category_renders_a_finite_clip_of_exact_length(index: int) -> None:
    item = make_item(seed=3, index=index, duration_s=2.0)
    assert item.category == category_for(index) == CATEGORY_NAMES[index]
    assert item.audio.dtype == np.float32 and item.audio.shape == (32000,)
    assert np.isfinite(item.audio).all()
    assert np.abs(item.audio).max() == pytest.approx(0.9, abs=1e-6)
    assert np.sqrt(np.mean(item.audio**2)) > 0.01  # not silence
    assert item.caption and item.attribute


def test_same_seed_and_index_give_the_same_clip_and_others_differ() -> None:
    first, again = make_item(11, 8, 1.0), make_item(11, 8, 1.0)
    assert np.array_equal(first.audio, again.audio) and first.caption == again.caption
    assert not np.array_equal(first.audio, make_item(12, 8, 1.0).audio)
    assert not np.array_equal(first.audio, make_item(11, 8 + len(CATEGORY_NAMES), 1.0).audio)


def test_heldout_split_changes_the_words_never_the_audio() -> None:
    train, heldout = make_item(5, 9, 1.0, "train"), make_item(5, 9, 1.0, "heldout")
    assert np.array_equal(train.audio, heldout.audio)
    assert train.caption != heldout.caption


def test_heldout_paraphrases_never_occur_in_training_captions() -> None:
    for category, text in CATEGORIES.items():
        assert not set(text.train.nouns) & set(text.heldout.nouns), category
        assert not set(text.train.templates) & set(text.heldout.templates), category
        train = {caption(category, "soft", np.random.default_rng(i), "train") for i in range(200)}
        heldout = {caption(category, "soft", np.random.default_rng(i), "heldout") for i in range(200)}
        assert not train & heldout, category


def test_fluidsynth_renders_the_note_it_was_given() -> None:
    midi = _midi_file([(0.0, 69, 2.0)], program=73, channel=0, velocity=100, bpm=120)  # flute, A4
    audio = render_midi(midi, SAMPLE_RATE)[:SAMPLE_RATE]
    assert abs(dominant_hz(audio) - 440.0) < 5.0


def test_procedural_sounds_behave_as_their_names_say() -> None:
    rng = np.random.default_rng(0)
    hit, _ = impact(rng, SAMPLE_RATE * 2, SAMPLE_RATE)
    assert np.abs(hit[:4000]).mean() > 10 * np.abs(hit[-8000:]).mean()  # an impact decays

    beeps, _ = alarm(np.random.default_rng(1), SAMPLE_RATE * 2, SAMPLE_RATE)
    frames = beeps[:SAMPLE_RATE].reshape(-1, 800)  # 50 ms frames
    pitches = {round(dominant_hz(frame) / 100) for frame in frames if np.abs(frame).max() > 0.1}
    assert len(pitches) == 2  # an alarm alternates two tones

    white, brown = coloured_noise(rng, 2**15, 0.0), coloured_noise(rng, 2**15, 2.0)

    def low_share(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        return power[: len(power) // 16].sum() / power.sum()

    assert low_share(brown) > 0.9 > 0.2 > low_share(white)

    strike, _ = bell(np.random.default_rng(2), SAMPLE_RATE, SAMPLE_RATE)
    spectrum = np.abs(np.fft.rfft(strike))
    peaks, _ = find_peaks(spectrum, distance=20)
    partials = np.sort(peaks[np.argsort(spectrum[peaks])[-5:]])  # the five strongest partials
    ratios = partials / partials[0]
    assert np.abs(ratios - np.round(ratios)).max() > 0.2  # a bell's tierce/quint: not a harmonic series


def test_fit_length_pads_with_silence_and_fades_a_cut() -> None:
    assert np.array_equal(fit_length(np.ones(10), 15)[10:], np.zeros(5))
    cut = fit_length(np.ones(SAMPLE_RATE), 1000)
    assert cut.shape == (1000,) and cut[-1] == 0.0 and cut[0] == 1.0
