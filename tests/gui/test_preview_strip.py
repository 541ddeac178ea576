"""The app's preview strip: a running generation's rough take drawn and playable before its takes arrive."""

from __future__ import annotations

from PyQt6.QtCore import Qt

from ..helpers.app_window import WAIT_MS, ask


def test_a_generation_shows_a_playable_preview_before_its_takes(qtbot, app) -> None:
    window = app.window
    strip = window.jobs.preview
    assert not strip.play_button.isEnabled() and strip.loaded is None
    ask(qtbot, app, "thunder far away", seconds=1.0, steps=16)
    request_id = window.generate()
    qtbot.waitUntil(lambda: strip.loaded is not None, timeout=WAIT_MS)
    assert strip.request_id == request_id and strip.play_button.isEnabled()
    assert strip.loaded.sample_rate == 16000 and len(strip.loaded.audio) == 16000  # the model's own rate
    assert f"Preview of {request_id}: " in strip.label.text()
    qtbot.waitUntil(lambda: window.jobs.model.rows[0].state == "done", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "done: its takes are below" in strip.label.text(), timeout=WAIT_MS)
    assert not list((app.service.output / "previews").glob("*.wav"))  # the bridge removed it
    window.player.loop = True  # so it is still playing when we look (ALSA's null device runs fast)
    qtbot.mouseClick(strip.play_button, Qt.MouseButton.LeftButton)  # still playable from memory
    assert window.player.playing
    window.player.stop()
