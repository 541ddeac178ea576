"""The desktop app, driven through its real window (offscreen Qt) with the bridge and a tiny engine inside.

Sound goes to ALSA's null device through real PortAudio (see tests/conftest.py); the OSC request comes
from liblo's oscsend, a client not written here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent
from soundloom.host_bridge.delivery.wav_metadata import read_provenance

from ..helpers.app_window import RATE, WAIT_MS, ask, generate_takes, messages, open_app
from ..helpers.bridge_process import oscsend


def test_ctrl_enter_generates_the_asked_number_of_takes_at_the_asked_length(qtbot, app) -> None:
    takes = generate_takes(qtbot, app, "rain on a tin roof", variations=3)
    assert len({take.path for take in takes}) == 3
    for take in takes:
        info = sf.info(take.path)
        assert take.duration_s == pytest.approx(0.5) and (info.samplerate, info.frames) == (RATE, RATE // 2)
        assert Path(take.path).parent == app.service.output
    row = app.window.jobs.model.rows[0]
    assert (row.kind, row.origin, row.state, row.fraction) == ("generate", "app", "done", 1.0)
    qtbot.waitUntil(lambda: all(take.thumbnail is not None for take in takes), timeout=WAIT_MS)
    assert "cpu float32" in app.window.engine_label.text()


def test_a_running_job_can_be_cancelled_from_the_window(qtbot, app) -> None:
    window = app.window
    ask(qtbot, app, "long drone", seconds=10.0, steps=1000)
    request_id = window.generate()
    qtbot.waitUntil(lambda: window.jobs.model.rows[0].state == "running", timeout=WAIT_MS)
    window.jobs.view.selectRow(0)
    qtbot.mouseClick(window.jobs.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.jobs.model.rows[0].state == "cancelled", timeout=WAIT_MS)
    assert window.jobs.model.rows[0].request_id == request_id and 0 < window.jobs.model.rows[0].fraction < 1
    assert window.takes.model.for_job(request_id) == [] and not list(app.service.output.glob("long_drone*"))
    assert app.history.job(request_id).state == "cancelled"


def test_space_plays_a_take_through_sounddevice_and_stops_it(qtbot, app) -> None:
    window = app.window
    generate_takes(qtbot, app, "bell", variations=1)
    window.takes.loop_box.setChecked(True)  # loop so it is still playing when we look
    qtbot.waitUntil(lambda: window.takes.loaded is not None, timeout=WAIT_MS)
    qtbot.keyClick(window.takes.view, Qt.Key.Key_Space)
    assert window.player.playing and window.takes.play_button.text().startswith("Stop")
    qtbot.waitUntil(lambda: window.player.position_s > 0.0, timeout=10_000)
    window.takes.seek(0.25)  # click-to-seek while playing
    qtbot.keyClick(window.takes.view, Qt.Key.Key_Space)
    assert not window.player.playing
    qtbot.waitUntil(lambda: window.takes.play_button.text().startswith("Play"), timeout=5_000)


def test_editing_the_chain_re_renders_the_dry_take_without_regenerating(qtbot, app) -> None:
    window = app.window
    [take] = generate_takes(qtbot, app, "glass clink")
    jobs_before = len(window.jobs.model.rows)
    window.shape.chain_editor.add_choice.setCurrentText("Gain")
    qtbot.mouseClick(window.shape.chain_editor.add_button, Qt.MouseButton.LeftButton)
    window.shape.chain_editor.set_parameter(0, "gain_db", -6.0)
    qtbot.waitUntil(
        lambda: any(t.shaped_from == take.path for t in window.takes.model.takes), timeout=WAIT_MS
    )
    shaped = [t for t in window.takes.model.takes if t.shaped_from == take.path][-1]
    assert len(window.jobs.model.rows) == jobs_before  # no new job: the engine did not run again
    provenance = read_provenance(Path(shaped.path).read_bytes())
    assert provenance["fx"]["effect"] == [{"type": "Gain", "gain_db": -6.0}]
    assert provenance["seed"] == take.seed and provenance["prompt"] == "glass clink"
    original, _ = sf.read(take.path)
    rendered, rate = sf.read(shaped.path)
    assert rate == RATE and len(rendered) >= len(original)
    peak = np.abs(original).max()
    assert peak > 0 and np.abs(rendered[: len(original)] - original * 10 ** (-6 / 20)).max() < 0.01 * peak


def test_a_dragged_take_is_an_existing_wav_with_its_provenance(qtbot, app) -> None:
    window = app.window
    [take] = generate_takes(qtbot, app, "door slam")
    window.takes.view.setCurrentIndex(window.takes.model.index(0))
    mime = window.takes.model.mimeData(window.takes.view.selectedIndexes())
    assert mime.hasFormat("text/uri-list") and len(mime.urls()) == 1
    path = Path(mime.urls()[0].toLocalFile())
    assert path == Path(take.path) and path.is_file() and sf.info(str(path)).format == "WAV"
    provenance = read_provenance(path.read_bytes())
    assert provenance["prompt"] == "door slam" and provenance["seed"] == take.seed
    assert provenance["sample_rate"] == RATE and provenance["model_id"]


def test_an_osc_request_from_oscsend_shows_up_as_a_job_with_its_takes(qtbot, app) -> None:
    window = app.window
    port = app.service.udp_port
    oscsend(port, "/soundloom/generate", "sssfsi", "from-daw", "thunder", "duration", 0.4, "steps", 2)
    qtbot.waitUntil(lambda: window.jobs.model.row_of("from-daw") is not None, timeout=WAIT_MS)
    row = window.jobs.model.rows[window.jobs.model.row_of("from-daw")]
    assert row.origin.startswith("OSC 127.0.0.1:") and row.prompt == "thunder"
    qtbot.waitUntil(lambda: len(window.takes.model.for_job("from-daw")) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "last /soundloom/generate" in window.daw_label.text(), timeout=5_000)
    assert any("from-daw" in line for line in messages(app))


def test_history_survives_closing_and_reopening_the_window(qtbot, tiny_checkpoint, data_dir) -> None:
    first = open_app(qtbot, tiny_checkpoint)
    [take] = generate_takes(qtbot, first, "wind through pines")
    first.window.takes.view.setCurrentIndex(first.window.takes.model.index(0))
    first.window.takes.star()
    first.close()
    second = open_app(qtbot, tiny_checkpoint)
    try:
        window = second.window
        assert window.history_panel.model.rowCount() == 1
        assert window.history_panel.model.index(0, 2).data() == "wind through pines"
        window.history_panel.table.selectRow(0)
        qtbot.waitUntil(lambda: len(window.takes.model.takes) == 1, timeout=WAIT_MS)
        assert window.takes.model.takes[0].path == take.path and window.takes.model.takes[0].starred
        window.history_panel.search.setText("nothing like it")
        assert window.history_panel.model.rowCount() == 0
        window.history_panel.search.setText("PINES")
        window.history_panel.table.selectRow(0)
        request_id = window.history_panel.rerun(new_seed=True)
        qtbot.waitUntil(lambda: len(window.takes.model.for_job(request_id)) == 1, timeout=WAIT_MS)
        assert window.takes.model.for_job(request_id)[0].seed != take.seed
    finally:
        second.close()


def test_bad_input_is_a_message_in_the_window_and_the_app_keeps_working(qtbot, app, tmp_path) -> None:
    window = app.window
    window.ask.prompt.clear()
    assert window.generate() is None
    assert "type a prompt first" in messages(app)[0] and window.jobs.model.rows == []

    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not audio at all")
    dropped = QMimeData()
    dropped.setUrls([QUrl.fromLocalFile(str(not_audio))])
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, dropped, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)  # fmt: skip
    window.dropEvent(drop)  # what Qt calls when the file is dropped on the window
    qtbot.waitUntil(lambda: "not a readable audio file" in messages(app)[0], timeout=WAIT_MS)
    assert window.clip.clip_path is None

    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model_index.json").write_text("{ not json")
    window.ask.add_model_folder(str(broken))
    ask(qtbot, app, "hum")
    request_id = window.generate()
    qtbot.waitUntil(lambda: window.jobs.model.rows[0].state == "failed", timeout=WAIT_MS)
    assert f"{request_id} failed: cannot load the model {broken}" in messages(app)[0]

    window.ask.model.setCurrentIndex(0)  # back to the working checkpoint: the app still generates
    [take] = generate_takes(qtbot, app, "hum")
    window.player.device = 999  # an output device that is gone
    qtbot.waitUntil(
        lambda: window.takes.loaded is not None and window.takes.loaded.path == take.path, timeout=WAIT_MS
    )
    window.takes.toggle_play()
    assert "audio output chosen in Settings (device 999) is gone" in messages(app)[0]
    assert not window.player.playing
    assert window.isVisible()


def test_a_saved_audio_device_that_is_gone_is_reported_at_start(qtbot, tiny_checkpoint, data_dir) -> None:
    from soundloom.gui.app import app_settings

    saved = app_settings()
    saved.setValue("audio/device", "USB Interface that was unplugged")
    saved.sync()
    app = open_app(qtbot, tiny_checkpoint)
    try:
        assert "is gone; playing through the system default" in messages(app)[0]
        assert app.window.player.device is None
    finally:
        app.close()


def test_an_osc_port_in_use_is_a_message_and_the_window_still_generates(
    qtbot, tiny_checkpoint, data_dir
) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        app = open_app(qtbot, tiny_checkpoint, port=taken.getsockname()[1])
        try:
            assert "DAW requests are off" in messages(app)[0]
            assert len(generate_takes(qtbot, app, "click")) == 1
        finally:
            app.close()


def test_a_midi_port_that_cannot_open_is_a_message_and_the_window_still_generates(
    qtbot, tiny_checkpoint, data_dir, monkeypatch
) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "soundloom-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    app = open_app(qtbot, tiny_checkpoint, midi_api="jack")
    try:
        assert "cannot open a virtual MIDI port (jack:" in messages(app)[0]
        assert app.midi is None
        assert len(generate_takes(qtbot, app, "click")) == 1
    finally:
        app.close()


def test_the_model_picker_runs_an_audioldm2_checkpoint(qtbot, app, tiny_audioldm2) -> None:
    """A folder of the other family, added in the window: its takes come from it, seen in provenance."""
    window = app.window
    window.ask.add_model_folder(str(tiny_audioldm2))
    assert window.ask.model.currentText() == str(tiny_audioldm2)
    [take] = generate_takes(qtbot, app, "a dog barks in the rain")
    assert Path(read_provenance(Path(take.path).read_bytes())["model_id"]).name == tiny_audioldm2.name
    assert sf.info(take.path).frames == RATE // 2
    window.ask.rerank.setChecked(True)  # its full ClapModel scores takes against the prompt
    ranked = generate_takes(qtbot, app, "a dog barks in the rain", variations=2)
    scores = [read_provenance(Path(ranked_take.path).read_bytes())["score"] for ranked_take in ranked]
    assert None not in scores and scores == sorted(scores, reverse=True)
    window.ask.rerank.setChecked(False)
    window.ask.model.setCurrentIndex(0)
    [back] = generate_takes(qtbot, app, "a dog barks in the rain")
    assert Path(read_provenance(Path(back.path).read_bytes())["model_id"]).name != tiny_audioldm2.name


def test_the_gui_modules_never_import_torch() -> None:
    code = (
        "import sys, soundloom.gui.app, soundloom.gui.window, soundloom.gui.link; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_send_to_daw_star_and_rename_deliver_without_overwriting(qtbot, app) -> None:
    from ..helpers.bridge_process import OscDump

    window = app.window
    first, second = generate_takes(qtbot, app, "whoosh", variations=2)
    window.takes.view.setCurrentIndex(window.takes.model.index(0))
    dump = OscDump()
    try:
        window.settings_panel.daw_port.setValue(dump.port)
        window.takes.send_to_daw()
        sent = dump.wait_for("/soundloom/take", timeout=10)
    finally:
        dump.close()
    assert sent[1] == "sfi" and sent[2] == first.path and int(sent[4]) == RATE
    outbox = app.service.take_outbox  # what REAPER's and Ardour's "Receive takes" actions read
    pushed = json.loads((outbox.folder / f"{outbox.latest()}.json").read_text())
    assert pushed == ["/soundloom/take", first.path, pytest.approx(first.duration_s), RATE]
    assert "Live cannot receive takes" in messages(app)[0]
    window.takes.star()
    assert first.starred and app.history.takes(first.request_id)[0].starred
    window.takes.rename(Path(second.path).stem)  # taken by the other take: refused, nothing overwritten
    assert "already exists" in messages(app)[0] and Path(first.path).is_file() and Path(second.path).is_file()
    old = first.path
    window.takes.rename("whoosh keeper")
    assert first.path.endswith("whoosh keeper.wav") and Path(first.path).is_file() and not Path(old).exists()
    assert app.history.takes(first.request_id)[0].file.path == first.path


def test_the_ask_widgets_hold_exactly_the_engines_ranges_and_a_preset_applies_whole(qtbot, app) -> None:
    from soundloom.engine.limits import DURATION_S, GUIDANCE_SCALE, SAMPLER, STEPS, VARIATIONS
    from soundloom.presets.prompts import parse_prompt_preset

    ask_panel = app.window.ask
    for box, limit in ((ask_panel.duration, DURATION_S), (ask_panel.steps, STEPS),
                       (ask_panel.guidance, GUIDANCE_SCALE), (ask_panel.variations, VARIATIONS)):  # fmt: skip
        assert (box.minimum(), box.maximum()) == (limit.low, limit.high), limit.field
    assert [ask_panel.sampler.itemText(i) for i in range(ask_panel.sampler.count())] == list(SAMPLER.choices)
    ask_panel.seed.setText(str(2**63 - 1))  # past a 32-bit spin box: the engine's whole seed range
    assert ask_panel.seed.value() == 2**63 - 1

    preset = parse_prompt_preset({
        "name": "storm", "template": "thunder over {place}", "variables": {"place": ["hills"]},
        "negative_prompt": "music", "duration_s": 7.5, "steps": 40, "guidance_scale": 30.0,
        "sampler": "ddim", "variations": 3, "loop": True, "fx": "Radio",
    })  # fmt: skip
    ask_panel.apply(preset)
    assert ask_panel.guidance.value() == 30.0  # a 20-capped spin box once cut this silently
    assert (ask_panel.duration.value(), ask_panel.steps.value(), ask_panel.sampler.currentText()) == (
        7.5,
        40,
        "ddim",
    )
    assert (ask_panel.variations.value(), ask_panel.loop.isChecked(), ask_panel.negative.text()) == (
        3,
        True,
        "music",
    )
    fields = ask_panel.generation_fields()
    assert fields["fx"] == "Radio" and fields["guidance_scale"] == 30.0 and fields["sampler"] == "ddim"


# What `import sounddevice` does where libportaudio2 is missing: the module's own words (sounddevice.py,
# `raise OSError('PortAudio library not found')` when ctypes.util.find_library finds no portaudio).
NO_PORTAUDIO = "raise OSError('PortAudio library not found')\n"
START_WITHOUT_PORTAUDIO = """import sys
from PyQt6.QtWidgets import QApplication
qt = QApplication([])
from soundloom.gui.app import start_app
app = start_app(sys.argv[1], osc_port=0)
window = app.window
print("MESSAGES", [window.messages.item(row).text() for row in range(window.messages.count())])
print("PLAY", window.takes.play_button.isEnabled(), window.takes.play_button.toolTip())
app.close()
"""


def test_the_app_starts_without_portaudio_with_playback_off(tiny_checkpoint, data_dir, tmp_path) -> None:
    """Issue 22, defect 11: without libportaudio2, `soundloom gui` died with OSError at import."""
    (tmp_path / "sounddevice.py").write_text(NO_PORTAUDIO)
    run = subprocess.run(
        [sys.executable, "-c", START_WITHOUT_PORTAUDIO, str(tiny_checkpoint)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    off = "playback is off: PortAudio library not found (Debian/Ubuntu: apt install libportaudio2)"
    assert off in run.stdout.split("MESSAGES", 1)[1].splitlines()[0]
    assert f"PLAY False {off}" in run.stdout
