"""The Settings panel's Loudness box, as a user types into it: "off" is off, and every number shown is
the target the takes get, saved and restored as shown."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings, Qt
from soundloom.gui.panels.settings import LOUDNESS_KEY, OLD_LOUDNESS_KEY, SettingsPanel
from soundloom.gui.player import Player


def panel(qtbot, path: Path) -> SettingsPanel:
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    shown = SettingsPanel(settings, "/tmp/out", 9000, Player())
    qtbot.addWidget(shown)
    shown.restore()
    return shown


def type_into(qtbot, box, text: str) -> None:
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Enter)


def test_typing_minus_60_gives_minus_60_lufs_takes_and_off_is_off(qtbot, tmp_path: Path) -> None:
    shown = panel(qtbot, tmp_path / "settings.ini")
    box = shown.export_loudness
    assert box.text() == "off" and shown.export_settings().loudness_lufs is None  # the default
    type_into(qtbot, box, "-60")
    assert box.text() == "-60.0 LUFS" and shown.export_settings().loudness_lufs == -60.0
    assert shown.export_fields()["loudness"] == -60.0
    type_into(qtbot, box, "0")
    assert box.text() == "0.0 LUFS" and shown.export_settings().loudness_lufs == 0.0  # 0 is a target
    type_into(qtbot, box, "-23")
    again = panel(qtbot, tmp_path / "settings.ini")  # the next start shows what was saved
    assert again.export_loudness.text() == "-23.0 LUFS" and again.export_settings().loudness_lufs == -23.0
    box.setValue(box.minimum())
    assert box.text() == "off" and shown.export_settings().loudness_lufs is None
    assert "loudness" not in shown.export_fields()


def test_a_value_saved_by_the_old_box_reads_as_the_user_saw_it(qtbot, tmp_path: Path) -> None:
    cases = (("0", "off", None), ("-60", "off", None), ("-18", "-18.0 LUFS", -18.0), ("loud", "off", None))
    for old, shown_then, target in cases:
        path = tmp_path / f"old{old}.ini"
        QSettings(str(path), QSettings.Format.IniFormat).setValue(OLD_LOUDNESS_KEY, old)
        restored = panel(qtbot, path)
        assert restored.export_loudness.text() == shown_then, old
        assert restored.export_settings().loudness_lufs == target
    path = tmp_path / "hand-edited.ini"
    QSettings(str(path), QSettings.Format.IniFormat).setValue(LOUDNESS_KEY, "loud")
    assert panel(qtbot, path).export_loudness.text() == "off"
