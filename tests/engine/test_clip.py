"""Reading what a DAW sends, and resampling without moving a single sample."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from soundloom.engine import EngineError, read_clip
from soundloom.engine.clip import resample, resample_loop


@pytest.mark.parametrize(
    ("extension", "subtype"),
    [
        ("wav", "PCM_16"),
        ("wav", "PCM_24"),
        ("wav", "PCM_32"),
        ("wav", "FLOAT"),
        ("aiff", "PCM_24"),
        ("flac", "PCM_16"),
        ("flac", "PCM_24"),
    ],
)
@pytest.mark.parametrize("rate", [8000, 44100, 192000])
@pytest.mark.parametrize("channels", [1, 2])
def test_reads_every_format_rate_and_layout(tmp_path, extension, subtype, rate, channels) -> None:
    frames = rate // 10
    audio = np.random.default_rng(0).uniform(-0.9, 0.9, (frames, channels))
    path = tmp_path / f"clip.{extension}"
    sf.write(path, audio, rate, subtype=subtype)
    clip = read_clip(path, 60.0)
    assert clip.audio.shape == (frames, channels) and clip.audio.dtype == np.float32
    assert clip.sample_rate == rate
    resolution = {"PCM_16": 2**-15, "PCM_24": 2**-23}.get(subtype, 1e-7)
    np.testing.assert_allclose(clip.audio, audio, atol=resolution)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000, 192000])
def test_a_click_track_survives_the_round_trip_to_16_khz_in_place(rate) -> None:
    clicks = (np.arange(1, 12) * 0.25 * rate).astype(int) + 3  # off the 16 kHz grid on purpose
    track = np.zeros((3 * rate, 2), np.float32)
    track[clicks] = [0.9, -0.9]
    back = resample(resample(track, rate, 16000), 16000, rate, len(track))
    assert back.shape == track.shape
    window = rate // 100
    for click in clicks:  # no offset at the first click, no drift by the last
        assert int(np.argmax(np.abs(back[click - window : click + window, 0]))) == window
        assert int(np.argmin(back[click - window : click + window, 1])) == window


def test_loop_stretch_is_exact_and_seamless() -> None:
    period = np.sin(2 * np.pi * 5 * np.arange(1000) / 1000).astype(np.float32)  # 5 whole cycles
    stretched = resample_loop(period[:, None], 1237)
    assert stretched.shape == (1237, 1)
    expected = np.sin(2 * np.pi * 5 * np.arange(1237) / 1237)
    np.testing.assert_allclose(stretched[:, 0], expected, atol=2e-3)  # wrap included: no edge effects


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("RIFF but not really"), "not a readable audio file"),
        (lambda p: p.write_bytes(b""), "not a readable audio file"),
        (lambda p: sf.write(p, np.zeros((0, 1)), 16000), "holds no audio"),
        (lambda p: sf.write(p, np.zeros((4000, 1)), 4000), "outside 8000-192000 Hz"),
        (lambda p: sf.write(p, np.zeros((800, 3)), 8000), "mono or stereo"),
        (lambda p: sf.write(p, np.zeros((8000 * 61, 1)), 8000), "longer than the 60 s limit"),
        (lambda p: None, "no such file"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, make, message) -> None:
    path = tmp_path / "clip.wav"
    make(path)
    with pytest.raises(EngineError, match=message):
        read_clip(path, 60.0)


def test_other_formats_are_named_and_refused(tmp_path) -> None:
    path = tmp_path / "clip.ogg"
    sf.write(path, np.zeros(1600), 16000, format="OGG", subtype="VORBIS")
    with pytest.raises(EngineError, match="are not supported; use WAV, AIFF or FLAC"):
        read_clip(path, 60.0)
