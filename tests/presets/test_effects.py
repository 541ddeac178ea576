"""Each built-in effect does to real signals what its parameters say."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from soundloom.presets import BUILTIN_EFFECTS, PresetError, build_board
from soundloom.presets.effects import parse_chain

from ..helpers.audio_signals import RATE, click, dominant_hz, level_db, noise_burst, sweep, tone


def process(audio: np.ndarray, effect: dict, folder: Path = Path("."), rate: int = RATE) -> np.ndarray:
    """One effect, built from its preset-file form, run on mono audio at `rate`."""
    chain = parse_chain({"name": "test", "effect": [effect]}, folder)
    return build_board(chain, rate)(audio[None, :], rate)[0]


def test_every_builtin_effect_named_in_the_issue_is_in_the_catalogue():
    wanted = {
        "Compressor", "Limiter", "Gain", "Reverb", "Delay", "Chorus", "Phaser", "Distortion", "Bitcrush",
        "Clipping", "PitchShift", "LowpassFilter", "HighpassFilter", "LowShelfFilter", "HighShelfFilter",
        "PeakFilter", "LadderFilter", "NoiseGate", "Convolution", "Resample",
    }  # fmt: skip
    assert wanted <= set(BUILTIN_EFFECTS)


def test_gain_of_minus_6_db_halves_the_amplitude():
    out = process(tone(440), {"type": "Gain", "gain_db": -6.0})
    assert np.abs(out).max() / 0.5 == pytest.approx(10 ** (-6 / 20), rel=1e-3)  # 0.501


@pytest.mark.parametrize("slope", [6, 12, 24, 48])
def test_lowpass_is_3_db_down_at_its_cutoff_and_falls_at_its_slope(slope):
    effect = {"type": "LowpassFilter", "cutoff_frequency_hz": 1000.0, "slope_db_oct": slope}
    at_cutoff = level_db(process(tone(1000), effect)) - level_db(tone(1000))
    assert at_cutoff == pytest.approx(-3.0, abs=0.3)
    # two octaves further up the asymptotic slope is reached within a few dB
    octave_drop = level_db(process(tone(4000), effect)) - level_db(process(tone(8000), effect))
    assert octave_drop == pytest.approx(slope, abs=slope * 0.25 + 1)


def test_lowpass_at_1_khz_removes_a_5_khz_tone_by_more_than_30_db():
    effect = {"type": "LowpassFilter", "cutoff_frequency_hz": 1000.0, "slope_db_oct": 36}
    removed = level_db(tone(5000)) - level_db(process(tone(5000), effect))
    assert removed > 30
    assert level_db(tone(200)) - level_db(process(tone(200), effect)) < 0.5  # the pass band is untouched


def test_highpass_removes_lows_and_keeps_highs():
    effect = {"type": "HighpassFilter", "cutoff_frequency_hz": 500.0, "slope_db_oct": 24}
    assert level_db(tone(60)) - level_db(process(tone(60), effect)) > 40
    assert level_db(tone(5000)) - level_db(process(tone(5000), effect)) < 0.5


@pytest.mark.parametrize(
    ("kind", "boosted_hz", "flat_hz"),
    [("LowShelfFilter", 60, 8000), ("HighShelfFilter", 12000, 100), ("PeakFilter", 2000, 200)],
)
def test_shelf_and_peak_filters_boost_where_they_are_set(kind, boosted_hz, flat_hz):
    cutoff = {"LowShelfFilter": 200.0, "HighShelfFilter": 3000.0, "PeakFilter": 2000.0}[kind]
    effect = {"type": kind, "cutoff_frequency_hz": cutoff, "gain_db": 9.0, "q": 0.7}
    assert level_db(process(tone(boosted_hz), effect)) - level_db(tone(boosted_hz)) == pytest.approx(
        9.0, abs=1.0
    )
    assert abs(level_db(process(tone(flat_hz), effect)) - level_db(tone(flat_hz))) < 1.0


def test_ladder_low_pass_attenuates_above_its_cutoff():
    effect = {"type": "LadderFilter", "mode": "LPF24", "cutoff_hz": 500.0, "resonance": 0.0, "drive": 1.0}
    assert level_db(tone(8000)) - level_db(process(tone(8000), effect)) > 40
    assert level_db(tone(100)) - level_db(process(tone(100), effect)) < 3


def test_reverb_rings_on_past_the_end_of_a_noise_burst():
    burst = np.concatenate([noise_burst(0.3), np.zeros(RATE, np.float32)])
    out = process(burst, {"type": "Reverb", "room_size": 0.9, "wet_level": 0.5})
    tail = out[round(0.5 * RATE) : round(0.8 * RATE)]  # 0.2-0.5 s after the burst ends
    assert level_db(tail) > -40
    dry = process(burst, {"type": "Reverb", "room_size": 0.9, "wet_level": 0.0, "dry_level": 1.0})
    assert np.abs(dry[round(0.35 * RATE) :]).max() < 1e-4  # wet 0: nothing after the burst


def test_delay_repeats_a_click_exactly_the_delay_later():
    out = process(click(), {"type": "Delay", "delay_seconds": 0.25, "feedback": 0.0, "mix": 0.5})
    echo = round(0.1 * RATE) + round(0.25 * RATE)
    assert np.abs(out[echo]) == pytest.approx(0.5, abs=0.01)
    assert np.abs(out[round(0.1 * RATE)]) == pytest.approx(0.5, abs=0.01)


def test_compressor_reduces_a_loud_tone_and_leaves_a_quiet_one():
    loud, quiet = tone(440, amplitude=1.0), tone(440, amplitude=0.01)
    effect = {"type": "Compressor", "threshold_db": -20.0, "ratio": 4.0, "attack_ms": 1.0, "release_ms": 50.0}
    # 0 dBFS peak (-3 dB RMS) is 17 dB over: 4:1 leaves ~4.25 dB over, so ~12.75 dB of reduction
    reduction = level_db(loud) - level_db(process(loud, effect))
    assert 9 < reduction < 15
    assert abs(level_db(quiet) - level_db(process(quiet, effect))) < 0.5


def test_limiter_drives_by_its_threshold_into_a_0_dbfs_ceiling():
    """JUCE's limiter (Pedalboard's): -threshold_db of makeup gain, nothing out above 0 dBFS."""
    effect = {"type": "Limiter", "threshold_db": -12.0, "release_ms": 50.0}
    hot = process(tone(440, amplitude=2.0), effect)  # +6 dBFS in
    assert np.abs(hot).max() <= 1.0 + 1e-6
    quiet = tone(440, amplitude=0.1)  # -20 dBFS
    raised = level_db(process(quiet, effect)) - level_db(quiet)
    assert 10 < raised < 18


def test_noise_gate_silences_quiet_noise_and_passes_loud_noise():
    quiet, loud = noise_burst(1.0, amplitude=0.001), noise_burst(1.0, amplitude=0.3)
    effect = {"type": "NoiseGate", "threshold_db": -40.0, "ratio": 20.0, "attack_ms": 1.0, "release_ms": 20.0}
    assert level_db(quiet) - level_db(process(quiet, effect)) > 20
    assert abs(level_db(loud) - level_db(process(loud, effect))) < 1


def test_distortion_adds_harmonics_to_a_pure_tone():
    def third_harmonic_ratio(audio):
        spectrum = np.abs(np.fft.rfft(audio[:RATE] * np.hanning(RATE)))
        return spectrum[1500] / spectrum[500]  # 1 Hz bins

    clean = tone(500)
    assert third_harmonic_ratio(clean) < 1e-4
    assert third_harmonic_ratio(process(clean, {"type": "Distortion", "drive_db": 30.0})) > 0.05


def test_clipping_clips_at_its_threshold():
    out = process(tone(440, amplitude=1.0), {"type": "Clipping", "threshold_db": -6.0})
    assert np.abs(out).max() == pytest.approx(10 ** (-6 / 20), abs=1e-3)


def test_bitcrush_quantises_to_its_bit_depth():
    out = process(sweep(0.5), {"type": "Bitcrush", "bit_depth": 4.0})
    assert len(np.unique(np.round(out, 6))) <= 2**4 + 1


def test_pitch_shift_of_12_semitones_doubles_the_frequency():
    out = process(tone(440, seconds=3.0), {"type": "PitchShift", "semitones": 12.0})[
        RATE // 2 : 5 * RATE // 2
    ]
    power = np.abs(np.fft.rfft(out * np.hanning(len(out)))) ** 2
    hz = np.fft.rfftfreq(len(out), 1 / RATE)
    band = (hz > 600) & (hz < 1200)  # the shifter leaves a pair of sidebands ~9 Hz either side of 880
    assert np.sum(hz[band] * power[band]) / np.sum(power[band]) == pytest.approx(880, abs=3)
    near_440 = (hz > 400) & (hz < 480)
    assert power[near_440].sum() < 0.01 * power[band].sum()


def test_resample_to_8_khz_removes_content_above_4_khz():
    out = process(tone(6000), {"type": "Resample", "target_sample_rate": 8000.0})
    assert level_db(tone(6000)) - level_db(out) > 30
    assert dominant_hz(
        process(tone(1000), {"type": "Resample", "target_sample_rate": 8000.0})
    ) == pytest.approx(1000, abs=2)


@pytest.mark.parametrize("kind", ["Chorus", "Phaser"])
def test_modulation_effects_change_the_signal_and_mix_zero_leaves_it(kind):
    source = noise_burst(1.0)
    wet = process(source, {"type": kind, "mix": 1.0, "depth": 0.8})
    assert level_db(source - wet) > level_db(source) - 20  # clearly different
    dry = process(source, {"type": kind, "mix": 0.0})
    np.testing.assert_allclose(dry, source, atol=1e-5)


def test_convolution_with_a_delayed_impulse_response_delays_the_signal(tmp_path):
    response = np.zeros(RATE // 10, np.float32)
    response[480] = 0.5  # 10 ms, half amplitude
    sf.write(tmp_path / "ir.wav", response, RATE, subtype="FLOAT")
    out = process(click(), {"type": "Convolution", "impulse_response": "ir.wav", "mix": 1.0}, tmp_path)
    peak = int(np.argmax(np.abs(out)))
    assert peak == round(0.1 * RATE) + 480
    # JUCE normalises the response's level, so the copy's gain is its own; its shape is exact
    others = np.delete(np.abs(out), peak)
    assert others.max() < 1e-3 * np.abs(out[peak])


def test_bypassed_effects_are_skipped():
    chain = parse_chain(
        {"name": "t", "effect": [{"type": "Gain", "gain_db": -20.0, "bypass": True}]}, Path(".")
    )
    assert len(build_board(chain, RATE)) == 0


@pytest.mark.parametrize(
    ("effect", "field", "words"),
    [
        ({"type": "Reverbb"}, "type", "unknown effect type 'Reverbb'"),
        ({"type": "Gain", "gain_db": 200.0}, "gain_db", "200 is outside -96 to 48 dB"),
        ({"type": "Gain", "gain_db": "loud"}, "gain_db", "must be a number"),
        ({"type": "Gain", "gain_db": True}, "gain_db", "must be a number"),
        ({"type": "Compressor", "ratio": 0.5}, "ratio", "0.5 is outside 1 to 100"),
        ({"type": "Reverb", "size": 0.5}, "size", "unknown field"),
        ({"type": "LadderFilter", "mode": "LPF36"}, "mode", "must be one of LPF12"),
        ({"type": "LowpassFilter", "slope_db_oct": 10}, "slope_db_oct", "multiple of 6"),
        ({"type": "Convolution", "impulse_response": "missing.wav"}, "impulse_response", "does not exist"),
        ({"type": "plugin", "path": "missing.vst3"}, "path", "does not exist"),
    ],
)
def test_bad_effects_name_the_effect_and_field(tmp_path, effect, field, words):
    with pytest.raises(PresetError) as caught:
        parse_chain({"name": "Mine", "effect": [{"type": "Gain"}, effect]}, tmp_path)
    assert caught.value.field == f"effect[2].{field}"
    assert words in str(caught.value)
    assert f"effect 2 ({effect['type']})" in str(caught.value)


def test_a_frequency_above_nyquist_is_refused_at_the_output_rate():
    chain = parse_chain(
        {"name": "Air", "effect": [{"type": "PeakFilter", "cutoff_frequency_hz": 30000.0}]}, Path(".")
    )
    assert len(build_board(chain, 96000)) == 1
    with pytest.raises(PresetError, match="30000 Hz is not below half the 48000 Hz output rate") as caught:
        build_board(chain, 48000)
    assert caught.value.preset == "Air"


def test_a_vst3_that_fails_to_load_is_a_clear_error(tmp_path):
    fake = tmp_path / "Broken.vst3"
    fake.write_bytes(b"not a plugin")
    chain = parse_chain({"name": "Ext", "effect": [{"type": "plugin", "path": str(fake)}]}, tmp_path)
    with pytest.raises(PresetError, match="failed to load") as caught:
        build_board(chain, RATE)
    assert caught.value.field == "effect[1].path"
    assert caught.value.preset == "Ext"


def test_plugin_state_must_be_base64(tmp_path):
    fake = tmp_path / "Some.vst3"
    fake.write_bytes(b"x")
    with pytest.raises(PresetError, match="base64"):
        parse_chain(
            {"name": "Ext", "effect": [{"type": "plugin", "path": str(fake), "state": "%%%"}]}, tmp_path
        )


@pytest.mark.parametrize("rate", [16000, 48000, 96000])
def test_the_gsm_phone_codec_keeps_speech_band_and_drops_the_rest(rate: int):
    """GSM 06.10 at 8 kHz: a 1 kHz tone passes, a 6 kHz one is gone, whatever the project's rate."""

    def band_energy(audio: np.ndarray, low: float, high: float) -> float:
        power = np.abs(np.fft.rfft(audio)) ** 2
        hz = np.fft.rfftfreq(len(audio), 1 / rate)
        return float(power[(hz > low) & (hz < high)].sum() / power.sum())

    mixed = tone(1000, rate=rate) + tone(6000, rate=rate)
    assert band_energy(mixed, 5500, 6500) > 0.4
    out = process(mixed, {"type": "GSMFullRateCompressor"}, rate=rate)
    assert band_energy(out, 4000, rate / 2) < 1e-4
    assert band_energy(out, 900, 1100) > 0.9
    enum_value = process(mixed, {"type": "GSMFullRateCompressor", "quality": "Linear"}, rate=rate)
    assert band_energy(enum_value, 900, 1100) > 0.5  # the choice's name becomes Pedalboard's enum member
