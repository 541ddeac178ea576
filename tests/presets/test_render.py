"""The render stage: resampling, layout, tails, loudness, ceiling, fades, dither; on real signals."""

import math

import numpy as np
import pytest
from soundloom.presets import EffectChain, ExportSettings, PresetError, load_library, render, to_pcm
from soundloom.presets.effects import Effect
from soundloom.presets.loudness import integrated_loudness, k_weighting, true_peak_dbtp

from ..helpers.audio_signals import RATE, click, dominant_hz, noise_burst, sweep, tone

REVERB = EffectChain("Room", (Effect("Reverb", {"room_size": 0.8, "wet_level": 0.4, "dry_level": 0.8}),))


def test_k_weighting_matches_the_published_48_khz_coefficients():
    (shelf_b, shelf_a), (highpass_b, highpass_a) = k_weighting(48000)  # ITU-R BS.1770-4, tables 1 and 2
    np.testing.assert_allclose(shelf_b, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-9)
    np.testing.assert_allclose(shelf_a, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    np.testing.assert_allclose(highpass_b, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(highpass_a, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_a_minus_23_dbfs_stereo_1_khz_tone_measures_minus_23_lufs(rate):
    """EBU Tech 3341 test 1: 1 kHz, -23 dBFS on both channels reads -23.0 LUFS."""
    sine = tone(1000, seconds=20, amplitude=10 ** (-23 / 20), rate=rate)
    assert integrated_loudness(np.stack([sine, sine], axis=1), rate) == pytest.approx(-23.0, abs=0.1)


def test_the_gates_ignore_silence_between_sounds():
    sine = tone(1000, seconds=5, amplitude=10 ** (-23 / 20))
    with_gaps = np.concatenate([sine, np.zeros(10 * RATE, np.float32), sine])
    # ungated, half the time silent would read 3 dB lower; only the blocks straddling each edge count
    assert integrated_loudness(with_gaps, RATE) == pytest.approx(integrated_loudness(sine, RATE), abs=0.2)
    assert integrated_loudness(np.zeros(RATE), RATE) == -math.inf


def test_true_peak_sees_the_peak_between_samples():
    # a sine at a quarter of the rate, sampled 45 degrees off its peaks: samples at 0.707, true peak 1.0
    t = np.arange(RATE)
    samples = np.sin(2 * np.pi * t / 4 + np.pi / 4).astype(np.float32)
    assert 20 * np.log10(np.abs(samples).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(samples, RATE) == pytest.approx(0.0, abs=0.2)


@pytest.mark.parametrize("target", [-14.0, -18.0, -23.0])
@pytest.mark.parametrize("source", ["sweep", "noise", "speechlike"])
def test_loudness_lands_within_half_a_lu_of_the_target(target, source):
    audio = {
        "sweep": sweep(4.0, rate=16000) * 0.1,
        "noise": noise_burst(4.0, amplitude=0.05, rate=16000),
        "speechlike": noise_burst(4.0, rate=16000) * (np.sin(np.linspace(0, 24, 64000)) > 0.3) * 0.2,
    }[source]
    rendered = render(audio, 16000, export=ExportSettings(sample_rate=48000, loudness_lufs=target))
    assert rendered.loudness_lufs == pytest.approx(target, abs=0.5)
    assert integrated_loudness(rendered.audio, 48000) == pytest.approx(target, abs=0.5)
    assert rendered.true_peak_dbtp <= -1.0 + 1e-3


def test_the_ceiling_holds_when_loudness_would_push_peaks_over_it():
    hits = click(2.0, 0.5) * 0.9 + noise_burst(2.0, amplitude=0.01)  # huge crest factor
    rendered = render(hits, RATE, export=ExportSettings(loudness_lufs=-10.0, ceiling_dbtp=-1.0))
    assert rendered.true_peak_dbtp <= -1.0 + 1e-3
    assert any("ceiling" in note for note in rendered.notes)  # and it says it cost loudness


def test_peak_normalisation_hits_the_true_peak_target():
    rendered = render(tone(997, amplitude=0.1), RATE, export=ExportSettings(peak_dbtp=-1.0))
    assert rendered.true_peak_dbtp == pytest.approx(-1.0, abs=0.05)


@pytest.mark.parametrize(
    ("source_rate", "target_rate"), [(16000, 44100), (16000, 48000), (16000, 96000), (48000, 44100)]
)
def test_resampling_keeps_a_tones_frequency_and_the_exact_length(source_rate, target_rate):
    audio = tone(1000, seconds=1.37, rate=source_rate)
    rendered = render(audio, source_rate, export=ExportSettings(sample_rate=target_rate))
    assert rendered.audio.shape == (round(len(audio) * target_rate / source_rate), 1)
    assert dominant_hz(rendered.audio[:, 0], target_rate) == pytest.approx(1000, abs=1)


def test_a_render_without_changes_hands_back_the_dry_audio_bit_for_bit():
    audio = np.stack([noise_burst(1.0, seed=1), noise_burst(1.0, seed=2)], axis=1) * 3  # peaks over 0 dBFS
    rendered = render(audio, RATE)
    np.testing.assert_array_equal(rendered.audio, audio)  # level untouched when nothing asks for it


def test_mono_to_stereo_dual_mono_and_wide_fold_back_to_the_mono():
    audio = noise_burst(1.0)
    dual = render(audio, RATE, export=ExportSettings(channels="stereo")).audio
    np.testing.assert_array_equal(dual[:, 0], dual[:, 1])
    wide = render(audio, RATE, export=ExportSettings(channels="stereo", stereo_mode="wide")).audio
    np.testing.assert_allclose(wide.mean(axis=1), audio, atol=1e-6)  # mono-compatible
    correlation = np.corrcoef(wide[:, 0], wide[:, 1])[0, 1]
    assert 0.3 < correlation < 0.95  # wider, still centred
    stereo_to_mono = render(dual, RATE, export=ExportSettings(channels="mono")).audio
    np.testing.assert_allclose(stereo_to_mono[:, 0], audio, atol=1e-7)


def test_the_reverb_tail_is_kept_past_the_end_then_trimmed_and_faded():
    burst = noise_burst(0.5)
    rendered = render(burst, RATE, REVERB)
    assert 0.3 < rendered.tail_s <= REVERB.tail_max_s
    tail = rendered.audio[len(burst) :, 0]
    assert np.abs(tail[: RATE // 10]).max() > 0.01  # it rings on after the burst
    assert np.abs(tail[-10:]).max() < 1e-3  # and fades to nothing at the end


def test_a_cut_tail_keeps_the_dry_length():
    burst = noise_burst(0.5)
    cut = EffectChain("Room", REVERB.effects, tail="cut")
    assert render(burst, RATE, cut).audio.shape[0] == len(burst)


def test_a_loop_stays_seamless_through_effects_and_resampling():
    period = tone(250, seconds=1.0, rate=16000)  # 250 whole cycles: seamless
    period[:400] += noise_burst(0.025, rate=16000)  # a transient right at the wrap
    rendered = render(period, 16000, REVERB, ExportSettings(sample_rate=48000), loop=True)
    audio = rendered.audio[:, 0]
    assert len(audio) == 48000
    # the wrap (last sample -> first) jumps no more than neighbouring samples do
    steps = np.abs(np.diff(audio))
    assert abs(audio[0] - audio[-1]) <= 1.5 * np.percentile(steps, 99.9)
    # the reverb's tail wrapped onto the start: the loop's end rings into its beginning
    plain = render(period, 16000, export=ExportSettings(sample_rate=48000), loop=True).audio[:, 0]
    assert not np.allclose(
        audio[:4800], plain[:4800] * (np.abs(audio).max() / np.abs(plain).max()), atol=1e-2
    )


def test_fades_ramp_from_and_to_silence():
    rendered = render(tone(440, amplitude=0.5), RATE, export=ExportSettings(fade_in_s=0.1, fade_out_s=0.2))
    audio = rendered.audio[:, 0]
    assert audio[0] == 0 and abs(audio[-1]) < 1e-6
    middle_of_fade_in = np.abs(audio[2400 - 60 : 2400 + 60]).max() / 0.5  # a 440 Hz peak is within 60 samples
    assert middle_of_fade_in == pytest.approx(0.5, abs=0.03)  # sin^2 ramp: half way, half gain


def test_sixteen_bit_output_is_dithered_and_deterministic():
    quiet = tone(1000, amplitude=1 / 32768 * 0.4)  # under one LSB: truncation would give silence
    pcm = to_pcm(quiet[:, None], "16")
    assert pcm.dtype == np.int16 and np.abs(pcm).max() >= 1
    assert dominant_hz(pcm[:, 0].astype(np.float32)) == pytest.approx(1000, abs=2)  # the tone survives dither
    np.testing.assert_array_equal(pcm, to_pcm(quiet[:, None], "16"))
    full = to_pcm(np.array([[1.0], [-1.0], [2.0]], np.float32), "24")
    assert list(full[:, 0] >> 8) == [8388607, -8388607, 8388607]


def test_bad_export_settings_are_refused_with_every_reason():
    with pytest.raises(PresetError) as caught:
        render(tone(440), RATE, export=ExportSettings(sample_rate=12345, bit_depth="20", loudness_lufs=5.0))
    message = str(caught.value)
    assert "rate must be one of" in message and "bit depth" in message and "loudness must be" in message


def test_every_shipped_effect_preset_renders_a_test_signal_cleanly():
    library = load_library()
    assert not library.errors
    assert len(library.effects) >= 12
    signal = np.concatenate([sweep(1.0, rate=16000), noise_burst(0.3, rate=16000), click(0.7, 0.1, 16000)])
    for entry in library.effects.values():
        for export in (
            ExportSettings(sample_rate=48000),
            ExportSettings(sample_rate=44100, channels="stereo", loudness_lufs=-16),
        ):
            rendered = render(signal * 0.9, 16000, entry.preset, export)
            assert np.isfinite(rendered.audio).all(), entry.preset.name
            assert rendered.true_peak_dbtp <= export.ceiling_dbtp + 1e-3, entry.preset.name
            assert np.abs(to_pcm(rendered.audio, "24")).max() < 2**31 - 256  # no integer clipping either
