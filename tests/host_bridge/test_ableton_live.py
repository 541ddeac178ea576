"""The Ableton Live path: `soundloom live` against a fake AbletonOSC peer and a real `soundloom serve`.

What it sends is captured by liblo's oscdump; what comes back is read from the WAVs the bridge wrote.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from soundloom.host_bridge.daw.live import AbletonOSC, read_selected_clip
from soundloom.host_bridge.errors import BridgeError

from ..helpers.bridge_process import OscDump, free_port, start_bridge
from ..helpers.cli import soundloom
from ..helpers.fake_ableton import FakeClip, FakeLive

RATE = 16_000


@pytest.fixture(scope="module")
def bridge(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    process = start_bridge(tiny_checkpoint, tmp_path_factory.mktemp("live-bridge"))
    yield process
    assert process.stop() == 0, "".join(process.log)


@pytest.fixture
def live(bridge):
    """Live at 150 BPM in 3/4 with an unwarped 4 s audio clip selected, its loop brace at 1.0-2.5 s."""
    recording = bridge.media / "Samples" / "Recorded" / "door slam.wav"
    recording.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, (4 * RATE, 2))
    sf.write(recording, noise, RATE, subtype="PCM_24")
    fake = FakeLive(reply_port=free_port(), tempo=150.0, signature_numerator=3, selected=(1, 2))
    fake.clips[(1, 2)] = FakeClip("door slam", str(recording), loop_start=1.0, loop_end=2.5)
    yield fake
    fake.close()


def live_command(live: FakeLive, port: int, *args: object):
    return soundloom(
        "live", *args, "--live-port", live.port, "--live-reply-port", live.reply_port, "--port", port
    )


def test_transfer_sends_the_clip_file_and_its_loop_brace(live, bridge) -> None:
    dump = OscDump()
    try:
        run = live_command(live, dump.port, "transfer", "metal gate", "--strength", "0.4", "--id", "t1")
        assert run.returncode == 3, run.stderr  # oscdump never answers: the request was sent, then timed out
        sent = dump.wait_for("/soundloom/transfer", "t1", timeout=5)
    finally:
        dump.close()
    clip = live.clips[(1, 2)]
    assert sent[1] == "sss" + "sf" * 3 and sent[2:5] == ["t1", clip.file_path, "metal gate"]
    options = dict(zip(sent[5::2], map(float, sent[6::2]), strict=True))
    assert options == {"strength": 0.4, "in_offset": 1.0, "in_length": 1.5}
    assert not any(address == "/live/error" for address, _ in live.asked)
    asked = [address for address, _ in live.asked]
    assert asked[:4] == [
        "/live/song/get/tempo",
        "/live/song/get/signature_numerator",
        "/live/song/get/signature_denominator",
        "/live/view/get/selected_clip",
    ]
    assert {"/live/clip/get/file_path", "/live/clip/get/warping", "/live/clip/get/loop_end"} <= set(asked)
    assert all(params[:2] == [1, 2] for address, params in live.asked if address.startswith("/live/clip"))


def test_transfer_round_trip_returns_the_brace_length(live, bridge) -> None:
    clip_path = Path(live.clips[(1, 2)].file_path)
    before = clip_path.read_bytes()
    run = live_command(live, bridge.port, "transfer", "metal gate", "--steps", "2", "--wait")
    assert run.returncode == 0, run.stderr + "".join(bridge.log[-5:])
    result = Path(run.stdout.strip())
    assert result.parent == bridge.output
    assert sf.info(result).frames == round(1.5 * RATE) and sf.info(result).samplerate == RATE
    assert "clip 'door slam' (track 2, scene 3)" in run.stderr
    assert clip_path.read_bytes() == before


def test_generate_bars_use_live_tempo_to_the_sample(live, bridge) -> None:
    run = live_command(
        live, bridge.port, "generate", "kick", "--bars", "2", "--rate", "48000", "--steps", "2", "--wait"
    )
    assert run.returncode == 0, run.stderr
    # 2 bars of 3/4 at 150 BPM = 6 beats x 0.4 s = 2.4 s -> 115,200 frames at 48 kHz
    assert sf.info(run.stdout.strip()).frames == 115_200
    assert "150 BPM, 3/4" in run.stderr


def test_bars_follow_the_time_signature_denominator(live, bridge) -> None:
    live.signature_numerator, live.signature_denominator = 7, 8
    dump = OscDump()
    try:
        run = live_command(live, dump.port, "generate", "kick", "--bars", "2", "--id", "g78")
        sent = dump.wait_for("/soundloom/generate", "g78", timeout=5)
    finally:
        dump.close()
    assert run.returncode == 3 and "150 BPM, 7/8" in run.stderr, run.stderr
    options = dict(zip(sent[4::2], sent[5::2], strict=True))
    assert (options["beats_per_bar"], options["beat_unit"]) == ("7", "8")
    run = live_command(
        live, bridge.port, "generate", "kick", "--bars", "2", "--rate", "48000", "--steps", "2", "--wait"
    )
    assert run.returncode == 0, run.stderr
    # a bar of 7/8 is 3.5 quarter notes: 2 bars at 150 BPM = 7 x 0.4 s = 2.8 s -> 134,400 frames at 48 kHz
    assert sf.info(run.stdout.strip()).frames == 134_400


def test_inpaint_regenerates_the_brace_inside_the_whole_file(live, bridge) -> None:
    clip_path = live.clips[(1, 2)].file_path
    run = live_command(live, bridge.port, "inpaint", "glass", "--steps", "2", "--fade", "0.02", "--wait")
    assert run.returncode == 0, run.stderr
    original, _ = sf.read(clip_path)
    result, rate = sf.read(run.stdout.strip())
    assert rate == RATE and result.shape == original.shape  # lines up with the sample: replaces it in place
    keep = np.ones(len(original), bool)
    keep[round((1.0 - 0.02) * RATE) : round((2.5 + 0.02) * RATE)] = False
    assert np.abs(result[keep] - original[keep]).max() < 1e-5  # 24-bit both ways: untouched outside
    assert np.abs(result[~keep] - original[~keep]).max() > 0.01


def test_extend_by_bars_at_live_tempo(live, bridge) -> None:
    run = live_command(live, bridge.port, "extend", "rumble", "--bars", "1", "--steps", "2", "--wait")
    assert run.returncode == 0, run.stderr
    assert sf.info(run.stdout.strip()).frames == round((1.5 + 1.2) * RATE)  # the brace + one 3/4 bar


def test_tempo_sets_the_bridge_tempo_from_live(live, bridge) -> None:
    run = live_command(live, bridge.port, "tempo")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["150.0", "3", "osc", "4"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda live: live.clips.clear(), "the selected Session slot (track 2, scene 3) is empty"),
        (lambda live: setattr(live.clips[(1, 2)], "is_audio_clip", False), "is a MIDI clip"),
        (lambda live: setattr(live.clips[(1, 2)], "warping", True), "is warped"),
        (lambda live: setattr(live.clips[(1, 2)], "file_path", "/nowhere/gone.wav"), "cannot read its file"),
        (lambda live: setattr(live.clips[(1, 2)], "loop_start", 9.0), "lies outside its 4.000 s file"),
    ],
)
def test_a_clip_soundloom_cannot_use_is_refused_in_one_line(live, bridge, change, message) -> None:
    change(live)
    dump = OscDump()
    try:
        run = live_command(live, dump.port, "vary", "--wait")
        assert run.returncode == 2 and message in run.stderr, run.stderr
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
        assert dump.lines == []  # nothing reached the bridge
    finally:
        dump.close()


def test_no_live_listening_and_a_clip_outside_the_roots_say_so(live, bridge) -> None:
    nobody = soundloom("live", "generate", "x", "--live-port", free_port(), "--live-reply-port", free_port())
    assert nobody.returncode == 2 and "Live did not answer /live/song/get/tempo" in nobody.stderr
    assert "AbletonOSC" in nobody.stderr and "Traceback" not in nobody.stderr
    live.clips[(1, 2)].file_path = str(Path("/var/tmp") / "soundloom-not-a-root.wav")
    sf.write(live.clips[(1, 2)].file_path, np.zeros((4 * RATE, 2)), RATE)
    try:
        run = live_command(live, bridge.port, "vary", "--wait")
    finally:
        Path(live.clips[(1, 2)].file_path).unlink()
    assert run.returncode == 1 and "bad_path" in run.stderr, run.stderr


def test_an_error_inside_live_is_reported_at_once_in_lives_words(live, bridge) -> None:
    live.selected_is_return_track = True  # AbletonOSC's view getter raises: a return track is not a track
    with AbletonOSC("127.0.0.1", live.port, live.reply_port, timeout=10) as osc:
        started = time.monotonic()
        with pytest.raises(BridgeError) as refused:
            read_selected_clip(osc)
        assert time.monotonic() - started < 1.0  # Live's /live/error, not the 10 s timeout
    assert "Live refused /live/view/get/selected_clip: Error handling OSC message:" in str(refused.value)
    run = live_command(live, bridge.port, "vary")
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "is not in list. Select a clip slot on an audio track" in run.stderr


def test_an_older_abletonosc_that_stays_silent_still_times_out_with_advice(live, bridge) -> None:
    live.selected_is_return_track, live.relays_errors = True, False
    run = live_command(live, bridge.port, "vary", "--live-timeout", "0.5")
    assert run.returncode == 2 and "Live did not answer /live/view/get/selected_clip" in run.stderr


def test_the_reply_port_advice_names_abletonoscs_fixed_port(live, bridge) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", live.reply_port))
        run = live_command(live, bridge.port, "tempo")
    assert run.returncode == 2 and "AbletonOSC answers only on 11001" in run.stderr, run.stderr
