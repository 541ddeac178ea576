"""The REAPER actions, run by a real Lua 5.4 against a fake `reaper` API and a real bridge (spool folder)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soundloom.host_bridge as host_bridge
from bridge_process import start_bridge

LUA = shutil.which("lua5.4") or pytest.fail("lua5.4 missing: apt-get install lua5.4")
ACTIONS = Path(host_bridge.__file__).parent / "daw" / "reaper"
FAKE_REAPER = Path(__file__).parent / "fake_reaper.lua"


@pytest.fixture(scope="module")
def bridge(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    process = start_bridge(tiny_checkpoint, tmp_path_factory.mktemp("reaper-bridge"))
    clip = 0.2 * np.sin(2 * np.pi * 220 * np.arange(3 * 16000) / 16000)
    sf.write(process.media / "dialog.wav", np.stack([clip, clip], 1), 16000, subtype="PCM_24")
    sf.write(process.media / "dialog_render.wav", clip[:16000], 16000, subtype="PCM_24")
    yield process
    assert process.stop() == 0, "".join(process.log)


def lua_literal(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def run_action(bridge, tmp_path: Path, action: str, **project) -> tuple[list, list, list]:
    state = {
        "project_rate": 48000,
        "cursor": 0.0,
        "bpm": 120.0,
        "beats_per_bar": 4,
        "time_selection": [0.0, 0.0],
        "tracks": [{"name": "FX"}, {"name": "Dialog"}],
        "items": [],
        "extstate": {"soundloom/spool": str(bridge.spool)},
        **project,
    }
    state_file = tmp_path / "state.lua"
    state_file.write_text("return " + lua_literal(state))
    run = subprocess.run(
        [LUA, str(FAKE_REAPER), str(state_file), str(ACTIONS / f"Soundloom - {action}.lua")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    calls, items, messages, pending = json.loads(run.stdout)
    assert pending == 0, "the defer loop was still running"
    return calls, items, messages


def journaled(bridge) -> list:
    """The last request the bridge journaled, as [address, args...]."""
    with sqlite3.connect(bridge.data / "jobs.sqlite") as journal:
        return json.loads(
            journal.execute("SELECT message FROM jobs ORDER BY job_id DESC LIMIT 1").fetchone()[0]
        )


def frames(path: str) -> tuple[int, int]:
    info = sf.info(path)
    return info.frames, info.samplerate


def dialog_item(bridge, **changes) -> dict:
    return {
        "track": 1, "position": 10.0, "length": 1.0, "offset": 0.5, "selected": True,
        "file": str(bridge.media / "dialog.wav"), **changes,
    }  # fmt: skip


def test_generate_at_the_edit_cursor_places_bars_at_the_sample(bridge, tmp_path) -> None:
    cursor = 1.2345678  # between two samples at 48 kHz
    _, items, messages = run_action(
        bridge, tmp_path, "Generate at edit cursor",
        cursor=cursor, bpm=100.0, beats_per_bar=4, selected_track=0, inputs="footsteps on gravel,2 bars,2",
    )  # fmt: skip
    assert messages == []
    message = journaled(bridge)
    assert message[:3] == ["/soundloom/generate", message[1], "footsteps on gravel"]
    options = dict(zip(message[3::2], message[4::2], strict=True))
    assert options == {
        "bars": 2.0, "variations": 2, "rate": 48000, "priority": "daw", "bpm": 100.0, "beats_per_bar": 4,
    }  # fmt: skip
    [(track, position, length, takes)] = items
    assert track == 0
    assert position * 48000 == round(cursor * 48000)  # on a sample
    assert length == pytest.approx(4.8)  # 2 bars of 4/4 at 100 BPM
    assert len(takes) == 2 and takes[0][3] is True
    for path, offset, _, _ in takes:
        assert Path(path).parent == bridge.output and offset == 0
        assert frames(path) == (230400, 48000)  # exactly 4.8 s at the project rate


def test_style_transfer_sends_the_item_region_and_adds_a_take(bridge, tmp_path) -> None:
    calls, items, messages = run_action(
        bridge,
        tmp_path,
        "Style-transfer selected item",
        items=[dialog_item(bridge)],
        inputs="robot voice,0.7",
    )
    assert messages == []
    message = journaled(bridge)
    assert message[2:4] == [str(bridge.media / "dialog.wav"), "robot voice"]
    options = dict(zip(message[4::2], message[5::2], strict=True))
    assert options == {"strength": 0.7, "in_offset": 0.5, "in_length": 1.0, "rate": 48000, "priority": "daw"}
    [(_, position, length, takes)] = items
    assert (position, length) == (10.0, 1.0)
    original, new = takes
    assert original[0].endswith("dialog.wav") and original[3] is False
    assert new[3] is True and frames(new[0]) == (48000, 48000)
    assert ["Undo_EndBlock", "Soundloom: transfer"] in calls


def test_an_item_with_take_fx_is_rendered_first(bridge, tmp_path) -> None:
    item = dialog_item(bridge, fx=2, playrate=1.5)
    calls, items, messages = run_action(
        bridge, tmp_path, "Variations of selected item",
        items=[item], render_file=str(bridge.media / "dialog_render.wav"),
    )  # fmt: skip
    assert ["Main_OnCommand", 41999] in calls
    assert not any(call[0] == "GetUserInputs" for call in calls)  # variations need no prompt
    message = journaled(bridge)
    assert message[0] == "/soundloom/vary" and message[2] == str(bridge.media / "dialog_render.wav")
    assert dict(zip(message[3::2], message[4::2], strict=True))["in_offset"] == 0.0
    # The tiny model has no CLAP audio branch, so the bridge refuses the variation; the user is told why.
    assert len(items[0][3]) == 2  # the original and REAPER's render
    assert len(messages) == 1 and messages[0].startswith("Soundloom: failed:"), messages


def test_inpaint_regenerates_the_time_selection_inside_the_item(bridge, tmp_path) -> None:
    _, items, messages = run_action(
        bridge, tmp_path, "Inpaint time selection",
        items=[dialog_item(bridge)], time_selection=[9.5, 10.25], inputs="cough",
    )  # fmt: skip
    assert messages == []
    options = dict(zip(journaled(bridge)[4::2], journaled(bridge)[5::2], strict=True))
    assert (options["start"], options["end"]) == (0.0, 0.25)  # the selection, clipped to the item
    assert frames(items[0][3][1][0]) == (48000, 48000)


def test_extend_lengthens_the_item_to_the_result(bridge, tmp_path) -> None:
    item = dialog_item(bridge)
    _, items, messages = run_action(
        bridge, tmp_path, "Extend selected item", items=[item], inputs="room tone,1.5"
    )
    assert messages == []
    [(_, _, length, takes)] = items
    assert frames(takes[1][0]) == (120000, 48000) and length == pytest.approx(2.5)


def test_problems_end_as_a_message_box_not_an_error(bridge, tmp_path) -> None:
    _, items, messages = run_action(bridge, tmp_path, "Style-transfer selected item", inputs="x,0.5")
    assert items == [] and messages == ["Select an audio item first."]
    outside = dialog_item(bridge, file="/etc/hostname")
    _, _, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item", items=[outside], inputs="x,0.5"
    )
    assert len(messages) == 1 and messages[0].startswith("Soundloom: bad_path:")
    _, _, messages = run_action(
        bridge, tmp_path, "Generate at edit cursor", selected_track=0, inputs="rain,soon,1"
    )
    assert messages == ["Length: seconds (2.5), bars (2 bars) or beats (4 beats)."]
