"""The app on a first day (issue 34's polish): what was just made is selected and in view, the Edit clip
tab has its own prompt, each empty view says what will appear in it, and Reveal works or says why not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from PyQt6.QtGui import QGuiApplication

from ..helpers.app_window import WAIT_MS, generate_takes, messages


def test_the_newest_job_s_first_take_is_selected_and_in_view(qtbot, app) -> None:
    window = app.window
    generate_takes(qtbot, app, "rain", variations=2)
    first_of_second_job, _ = generate_takes(qtbot, app, "wind", variations=2)
    assert window.takes.current() is first_of_second_job  # was: still the first take of the first job
    rect = window.takes.view.visualRect(window.takes.view.currentIndex())
    assert window.takes.view.viewport().rect().intersects(rect)


def test_the_edit_clip_tab_uses_its_own_prompt(qtbot, app, tmp_path: Path) -> None:
    window = app.window
    clip = tmp_path / "clip.wav"
    sf.write(clip, (np.sin(np.arange(16000) / 5) * 0.3).astype(np.float32), 16000)
    window.clip.open_clip(str(clip))
    qtbot.waitUntil(lambda: window.clip.clip_path == str(clip), timeout=WAIT_MS)
    window.ask.prompt.setPlainText("rain on a tin roof")
    assert window.edit_clip("transfer") is None  # the Ask tab's prompt is not the clip's
    assert "type a prompt above the clip's buttons first" in messages(app)[0]
    window.clip.prompt.setText("glass shatter")
    request_id = window.edit_clip("transfer")
    assert request_id is not None
    qtbot.waitUntil(lambda: bool(window.takes.model.for_job(request_id)), timeout=WAIT_MS)
    assert app.history.job(request_id).prompt == "glass shatter"


def test_each_empty_view_says_what_will_appear_in_it(app) -> None:
    window = app.window
    assert window.clip.view.empty_text == "Open or drop a WAV, AIFF or FLAC"
    assert "Open or drop" not in window.jobs.preview.waveform.empty_text  # was the clip's words
    assert "Open or drop" not in window.takes.waveform.empty_text


def test_reveal_says_why_not_and_hands_over_the_path(qtbot, app) -> None:
    window = app.window
    window.takes.reveal()
    assert messages(app)[0].endswith("reveal: select a take first")
    [take] = generate_takes(qtbot, app, "hum")
    window.takes.reveal()  # the offscreen platform has no file manager: openUrl says False
    assert "no file manager answered; the path is on the clipboard" in messages(app)[0]
    assert QGuiApplication.clipboard().text() == take.path
    Path(take.path).unlink()
    window.takes.reveal()
    assert "is gone (moved or deleted outside the app)" in messages(app)[0]
