"""The REAPER actions, run by a real Lua 5.4 against a REAPER double (fake_reaper.lua, written from REAPER's
ReaScript documentation) and a real bridge (spool folder).

The double's defaults are REAPER's: the project's own sample rate is switched off (REAPER runs at the
audio device's rate, here 48 kHz, while the project settings hold 44.1 kHz), GetOS says "Other", and
math.random starts from the same seed in every run, as in REAPER's Lua 5.3 builds.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soundloom.host_bridge as host_bridge
from soundloom.host_bridge.daw.take_outbox import TakeOutbox

from ..helpers.bridge_process import oscsend, start_bridge
from ..helpers.lua_values import lua_literal

LUA = shutil.which("lua5.4") or pytest.fail("lua5.4 missing: apt-get install lua5.4")
ACTIONS = Path(host_bridge.__file__).parent / "daw" / "reaper"
FAKE_REAPER = Path(__file__).parent / "fake_reaper.lua"
SPOOL_LUA = Path(host_bridge.__file__).parent / "daw" / "lua" / "soundloom_spool.lua"
DEVICE_RATE = 48000


@pytest.fixture(scope="module")
def bridge(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    # --no-temp-root: the tests live under /tmp, and REAPER's default media folder is no temp folder
    process = start_bridge(tiny_checkpoint, tmp_path_factory.mktemp("reaper-bridge"), "--no-temp-root")
    clip = 0.2 * np.sin(2 * np.pi * 220 * np.arange(3 * 16000) / 16000)
    sf.write(process.media / "dialog.wav", np.stack([clip, clip], 1), 16000, subtype="PCM_24")
    sf.write(process.media / "foley.wav", clip[:16000], 16000, subtype="PCM_24")
    (process.media / "Project media").mkdir()
    (process.data / "REAPER Media").mkdir()  # REAPER's default recording path: outside the roots
    yield process
    assert process.stop() == 0, "".join(process.log)


def action_command(bridge, tmp_path: Path, action: str, **project) -> list[str]:
    state = {
        "project_rate": 44100,  # what Project Settings holds; unused while PROJECT_SRATE_USE is off
        "project_rate_use": 0,
        "device_rate": DEVICE_RATE,
        "cursor": 0.0,
        "bpm": 120.0,
        "time_signature": [4, 4],
        "time_selection": [0.0, 0.0],
        "tracks": [{"name": "FX"}, {"name": "Dialog"}],
        "items": [],
        "extstate": {"soundloom/spool": str(bridge.spool)},
        "project_saved": True,
        "project_media_folder": str(bridge.media / "Project media"),
        "default_media_folder": str(bridge.data / "REAPER Media"),
        "clock_start": time.monotonic(),  # REAPER's time_precise differs from run to run
        **project,
    }
    state_file = tmp_path / f"state-{time.monotonic_ns()}.lua"
    state_file.write_text("return " + lua_literal(state))
    return [LUA, str(FAKE_REAPER), str(state_file), str(ACTIONS / f"Soundloom - {action}.lua")]


def finished(run: subprocess.CompletedProcess) -> tuple[list, list, list, dict]:
    assert run.returncode == 0, run.stderr
    calls, items, messages, pending, toggles, options, terminated = json.loads(run.stdout)
    assert pending == 0 or terminated, "the defer loop was still running"
    return calls, items, messages, {"toggles": toggles, "action_options": options}


def run_action(bridge, tmp_path: Path, action: str, **project) -> tuple[list, list, list]:
    command = action_command(bridge, tmp_path, action, **project)
    calls, items, messages, _ = finished(subprocess.run(command, capture_output=True, text=True, timeout=180))
    return calls, items, messages


def journal_rows(bridge) -> list[tuple[str, list, str]]:
    """Every request the bridge journaled: (request id, [address, args...], state)."""
    with closing(sqlite3.connect(bridge.data / "jobs.sqlite")) as journal:
        rows = journal.execute("SELECT request_id, message, state FROM jobs ORDER BY job_id").fetchall()
    return [(request_id, json.loads(message), state) for request_id, message, state in rows]


def journaled(bridge) -> list:
    """The last request the bridge journaled, as [address, args...]."""
    return journal_rows(bridge)[-1][1]


def options_of(message: list, first: int) -> dict:
    return dict(zip(message[first::2], message[first + 1 :: 2], strict=True))


def frames(path: str) -> tuple[int, int]:
    info = sf.info(path)
    return info.frames, info.samplerate


def dialog_item(bridge, **changes) -> dict:
    return {
        "track": 1, "position": 10.0, "length": 1.0, "offset": 0.5, "selected": True,
        "file": str(bridge.media / "dialog.wav"), "source_length": 3.0, **changes,
    }  # fmt: skip


def test_generate_at_the_edit_cursor_places_bars_at_the_sample(bridge, tmp_path) -> None:
    cursor = 1.2345678  # between two samples at 48 kHz
    _, items, messages = run_action(
        bridge, tmp_path, "Generate at edit cursor", cursor=cursor, bpm=100.0,
        tracks=[{"name": "FX", "selected": True}, {"name": "Dialog"}],
        inputs=["footsteps on gravel", "2 bars", "2"],
    )  # fmt: skip
    assert messages == []
    message = journaled(bridge)
    assert message[:3] == ["/soundloom/generate", message[1], "footsteps on gravel"]
    assert options_of(message, 3) == {
        "bars": 2.0, "variations": 2, "rate": DEVICE_RATE, "priority": "daw", "bpm": 100.0,
        "beats_per_bar": 4, "beat_unit": 4,
    }  # fmt: skip
    [(track, position, length, takes, _)] = items
    assert track == 0
    assert position * DEVICE_RATE == round(cursor * DEVICE_RATE)  # on a sample
    assert length == pytest.approx(4.8)  # 2 bars of 4/4 at 100 BPM
    assert len(takes) == 2 and takes[0][3] is True
    for path, offset, _, _ in takes:
        assert Path(path).parent == bridge.output and offset == 0
        assert frames(path) == (230400, DEVICE_RATE)  # exactly 4.8 s at the rate REAPER runs at


PROMPTS = [
    "tight snare, dry",
    'glass, shatter; "close" mic',
    "café ambience, ünïcödé — 東京, 50% wet",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_prompts_reach_the_bridge_whole(bridge, tmp_path, prompt) -> None:
    """GetUserInputs joins the fields with its separator: commas in a prompt must not split it."""
    calls, _, messages = run_action(
        bridge, tmp_path, "Generate at edit cursor",
        tracks=[{"name": "FX", "selected": True}], inputs=[prompt, "0.5", "1"],
    )  # fmt: skip
    assert messages == []
    assert journaled(bridge)[2] == prompt
    [(_, _, captions, defaults, separator)] = [call for call in calls if call[0] == "GetUserInputs"]
    assert separator == "\n" and len(captions) == len(defaults) == 3
    calls, _, messages = run_action(
        bridge, tmp_path, "Inpaint time selection",
        items=[dialog_item(bridge)], time_selection=[10.25, 10.5], inputs=[prompt],
    )  # fmt: skip
    assert messages == []
    assert journaled(bridge)[3] == prompt


@pytest.mark.parametrize(
    ("settings", "rate"),
    [
        ({}, DEVICE_RATE),  # REAPER's default: the project follows the audio device
        ({"project_rate_use": 1, "project_rate": 44100}, 44100),  # "Project sample rate" ticked
        ({"device_open": False}, 48000),  # no device open: GetAudioDeviceInfo fails; the default
    ],
)
def test_results_come_at_the_rate_reaper_runs_at(bridge, tmp_path, settings, rate) -> None:
    _, items, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item",
        items=[dialog_item(bridge)], inputs=["robot voice", "0.7"], **settings,
    )  # fmt: skip
    assert messages == []
    assert options_of(journaled(bridge), 4)["rate"] == rate
    assert frames(items[0][3][1][0]) == (rate, rate)  # the 1 s item region, at that rate


def test_style_transfer_sends_the_item_region_and_adds_a_take(bridge, tmp_path) -> None:
    calls, items, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item",
        items=[dialog_item(bridge)], inputs=["robot voice", "0.7"],
    )  # fmt: skip
    assert messages == []
    message = journaled(bridge)
    assert message[2:4] == [str(bridge.media / "dialog.wav"), "robot voice"]
    assert options_of(message, 4) == {
        "strength": 0.7, "in_offset": 0.5, "in_length": 1.0, "rate": DEVICE_RATE, "priority": "daw"
    }  # fmt: skip
    [(_, position, length, takes, _)] = items
    assert (position, length) == (10.0, 1.0)
    original, new = takes
    assert original[0].endswith("dialog.wav") and original[3] is False
    assert new[3] is True and frames(new[0]) == (DEVICE_RATE, DEVICE_RATE)
    assert ["Undo_EndBlock", "Soundloom: transfer"] in calls


def test_only_the_sent_item_is_rendered_and_the_selection_comes_back(bridge, tmp_path) -> None:
    """Action 41999 renders every selected item; the action must render only the one it sends."""
    sent = dialog_item(bridge, fx=2, playrate=1.5)
    other = dialog_item(bridge, track=0, position=20.0, file=str(bridge.media / "foley.wav"), fx=1)
    calls, items, messages = run_action(bridge, tmp_path, "Variations of selected item", items=[sent, other])
    assert ["Main_OnCommand", 41999] in calls
    assert not any(call[0] == "GetUserInputs" for call in calls)  # variations need no prompt
    message = journaled(bridge)
    assert message[0] == "/soundloom/vary" and Path(message[2]).parent == bridge.media / "Project media"
    assert options_of(message, 3)["in_offset"] == 0.0  # the render holds just the item, from its start
    first, second = items
    assert len(second[3]) == 1, "the other selected item was rendered too"
    assert first[4] is True and second[4] is True  # both selected again afterwards
    # The tiny model has no CLAP audio branch, so the bridge refuses the variation; the user is told why.
    assert len(messages) == 1 and messages[0].startswith("Soundloom: failed:"), messages


def test_a_pitch_shifted_take_is_rendered_first(bridge, tmp_path) -> None:
    calls, _, _ = run_action(
        bridge, tmp_path, "Style-transfer selected item",
        items=[dialog_item(bridge, pitch=-3.0)], inputs=["x", "0.5"],
    )  # fmt: skip
    assert ["Main_OnCommand", 41999] in calls
    assert Path(journaled(bridge)[2]).parent == bridge.media / "Project media"


def test_a_render_outside_the_roots_says_where_reaper_put_it(bridge, tmp_path) -> None:
    """An unsaved project renders into REAPER's default media folder, which the bridge may not read."""
    _, _, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item",
        items=[dialog_item(bridge, fx=1)], inputs=["x", "0.5"], project_saved=False,
    )  # fmt: skip
    [message] = messages
    rendered = str(bridge.data / "REAPER Media" / "dialog-render-001.wav")
    assert "bad_path" in message and rendered in message and "--root" in message, message


def test_a_negative_start_offset_sends_only_the_audio_and_lines_up(bridge, tmp_path) -> None:
    """D_STARTOFFS < 0: the item starts before its source; the first 0.25 s are silence."""
    item = dialog_item(bridge, offset=-0.25, length=1.0)
    _, items, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item", items=[item], inputs=["x", "0.5"]
    )
    assert messages == []
    options = options_of(journaled(bridge), 4)
    assert (options["in_offset"], options["in_length"]) == (0.0, 0.75)
    [(_, position, length, (_, new), _)] = items
    assert (position, length) == (10.0, 1.0)
    assert new[1] == -0.25  # the result starts where the source did
    assert frames(new[0]) == (36000, DEVICE_RATE)


def test_an_item_longer_than_its_source_sends_what_exists(bridge, tmp_path) -> None:
    item = dialog_item(bridge, offset=2.5, length=1.0, source_length=3.0)
    _, _, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item", items=[item], inputs=["x", "0.5"]
    )
    assert messages == []
    options = options_of(journaled(bridge), 4)
    assert (options["in_offset"], options["in_length"]) == (2.5, 0.5)


def test_bars_follow_the_time_signature_denominator(bridge, tmp_path) -> None:
    _, items, messages = run_action(
        bridge, tmp_path, "Generate at edit cursor", bpm=100.0, time_signature=[6, 8],
        tracks=[{"name": "FX", "selected": True}], inputs=["shaker", "2 bars", "1"],
    )  # fmt: skip
    assert messages == []
    options = options_of(journaled(bridge), 3)
    assert (options["beats_per_bar"], options["beat_unit"]) == (6, 8)
    # a 6/8 bar is three quarter notes: 2 bars at 100 BPM = 3.6 s
    assert items[0][2] == pytest.approx(3.6) and frames(items[0][3][0][0]) == (172800, DEVICE_RATE)


def test_inpaint_regenerates_the_time_selection_inside_the_item(bridge, tmp_path) -> None:
    _, items, messages = run_action(
        bridge, tmp_path, "Inpaint time selection",
        items=[dialog_item(bridge)], time_selection=[9.5, 10.25], inputs=["cough"],
    )  # fmt: skip
    assert messages == []
    options = options_of(journaled(bridge), 4)
    assert (options["start"], options["end"]) == (0.0, 0.25)  # the selection, clipped to the item
    assert frames(items[0][3][1][0]) == (DEVICE_RATE, DEVICE_RATE)


def test_extend_lengthens_the_item_to_the_result(bridge, tmp_path) -> None:
    _, items, messages = run_action(
        bridge, tmp_path, "Extend selected item", items=[dialog_item(bridge)], inputs=["room tone", "1.5"]
    )
    assert messages == []
    [(_, _, length, takes, _)] = items
    assert frames(takes[1][0]) == (120000, DEVICE_RATE) and length == pytest.approx(2.5)


@pytest.mark.parametrize("deleted", [{"item": 0}, {"track": 1}])
def test_an_item_deleted_while_waiting_is_left_alone_and_the_result_named(bridge, tmp_path, deleted) -> None:
    _, items, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item",
        items=[dialog_item(bridge)], inputs=["x", "0.5"], delete_after=[{**deleted, "ticks": 1}],
    )  # fmt: skip
    assert items == []
    [message] = messages
    request_id, _, state = journal_rows(bridge)[-1]
    assert state == "done"
    *_, done = json.loads((bridge.spool / "replies" / f"{request_id}.json").read_text())
    assert done[0] == "/soundloom/done" and Path(done[2]).is_file()
    assert "was deleted" in message and done[2] in message, message


def test_a_deleted_track_leaves_a_generation_unplaced_but_named(bridge, tmp_path) -> None:
    _, items, messages = run_action(
        bridge, tmp_path, "Generate at edit cursor", tracks=[{"name": "FX", "selected": True}],
        inputs=["wind", "0.5", "1"], delete_after=[{"track": 0, "ticks": 1}],
    )  # fmt: skip
    assert items == [] and len(messages) == 1 and "track was deleted" in messages[0]
    assert str(bridge.output) in messages[0]


def test_two_runs_in_the_same_second_send_different_request_ids(bridge, tmp_path) -> None:
    """REAPER's Lua 5.3 starts math.random from one seed: the id must not rest on it alone."""
    for _ in range(2):
        _, _, messages = run_action(
            bridge, tmp_path, "Generate at edit cursor", now=1_700_000_000,
            tracks=[{"name": "FX", "selected": True}], inputs=["tick", "0.2", "1"],
        )  # fmt: skip
        assert messages == []
    first, second = journal_rows(bridge)[-2:]
    assert first[0] != second[0] and first[2] == second[2] == "done"


def test_relaunching_while_waiting_cancels_the_job_and_says_so(bridge, tmp_path) -> None:
    """Started again while it waits, REAPER asks; "Terminate instances" ends the waiting script."""
    blocker = f"blocker-{time.monotonic_ns()}"
    oscsend(bridge.port, "/soundloom/generate", "sssisf", blocker, "long", "steps", 1000, "duration", 10.0)
    try:
        _, items, messages = run_action(
            bridge, tmp_path, "Generate at edit cursor", tracks=[{"name": "FX", "selected": True}],
            inputs=["queued", "1", "1"], terminate_after=20,
        )  # fmt: skip
    finally:
        oscsend(bridge.port, "/soundloom/cancel", "s", blocker)
    assert items == []
    [message] = messages
    assert "stopped waiting" in message and "cancelled" in message, message
    deadline = time.monotonic() + 10
    while journal_rows(bridge)[-1][2] != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.1)
    request_id, _, state = next(row for row in reversed(journal_rows(bridge)) if row[1][2] == "queued")
    assert state == "cancelled", (request_id, state)


def test_problems_end_as_a_message_box_not_an_error(bridge, tmp_path) -> None:
    _, items, messages = run_action(bridge, tmp_path, "Style-transfer selected item", inputs=["x", "0.5"])
    assert items == [] and messages == ["Select an audio item first."]
    outside = dialog_item(bridge, file="/etc/hostname")
    _, _, messages = run_action(
        bridge, tmp_path, "Style-transfer selected item", items=[outside], inputs=["x", "0.5"]
    )
    assert len(messages) == 1 and messages[0].startswith("Soundloom: bad_path:")
    _, _, messages = run_action(
        bridge, tmp_path, "Generate at edit cursor",
        tracks=[{"name": "FX", "selected": True}], inputs=["rain", "soon", "1"],
    )  # fmt: skip
    assert messages == ["Length: seconds (2.5), bars (2 bars) or beats (4 beats)."]
    _, _, messages = run_action(bridge, tmp_path, "Generate at edit cursor", inputs=["rain", "1", "1"])
    assert messages == ["Select a track: the sound is placed on it at the edit cursor."]


def test_the_spool_folder_follows_the_data_folder_on_linux(bridge, tmp_path, monkeypatch) -> None:
    """GetOS says "Other" on Linux: without a configured spool, $XDG_DATA_HOME/soundloom/spool."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SOUNDLOOM_DATA_DIR", raising=False)
    monkeypatch.delenv("SOUNDLOOM_SPOOL", raising=False)
    (tmp_path / "xdg" / "soundloom" / "spool" / "requests").mkdir(parents=True)
    command = action_command(
        bridge, tmp_path, "Generate at edit cursor", extstate={}, timeout=1,
        tracks=[{"name": "FX", "selected": True}], inputs=["rain", "1", "1"],
    )  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    requests = (tmp_path / "xdg" / "soundloom" / "spool" / "requests").glob("*.json")
    sent = sorted(json.loads(request.read_text()) for request in requests)
    # no bridge watches that folder: the action gives up after the double's 1 s and cancels its request
    assert [message[0] for message in sent] == ["/soundloom/cancel", "/soundloom/generate"]
    assert sent[1][2] == "rain" and sent[0][1] == sent[1][1]


def test_receive_takes_places_each_pushed_take_at_the_edit_cursor(bridge, tmp_path) -> None:
    """The app's Send to DAW: the toggle action watches the spool and inserts each take, sample-aligned."""
    take = bridge.output / "pushed.wav"
    sf.write(take, np.zeros(22050), 44100, subtype="FLOAT")
    outbox = TakeOutbox(bridge.spool)
    outbox.push(str(take), 0.5, 44100)  # pushed before the action started: not this session's
    command = action_command(
        bridge, tmp_path, "Receive takes from the app", cursor=2.00001, terminate_after=60,
        tracks=[{"name": "FX"}, {"name": "Dialog", "selected": True}],
    )  # fmt: skip
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    outbox.push(str(take), 0.5, 44100)
    stdout, stderr = watcher.communicate(timeout=60)
    run = subprocess.CompletedProcess(command, watcher.returncode, stdout, stderr)
    _, items, messages, flags = finished(run)
    assert messages == []
    [(track, position, length, [(path, offset, _, active)], _)] = items
    assert (track, path, offset, active) == (1, str(take), 0.0, True)
    assert position * DEVICE_RATE == round(2.00001 * DEVICE_RATE) and length == 0.5
    assert flags["toggles"] == [1, 0] and 1 in flags["action_options"]  # on while it runs; relaunch stops it


def test_the_lua_json_decoder_reads_what_the_bridge_writes_emoji_and_lone_surrogates_included() -> None:
    """Issue 22, defect 12: result paths with emoji must reach REAPER whole. Python's json.dumps (what the
    bridge writes replies with) escapes them as surrogate pairs; a lone surrogate becomes U+FFFD."""
    paths = ["/takes/rain \U0001f600 on tin.wav", "/takes/caf\u00e9.wav", "/takes/\ud83d alone.wav"]
    decode = f'dofile("{SPOOL_LUA}").decode({lua_literal(json.dumps(paths))})'
    script = f"for _, text in ipairs({decode}) do io.write(text, '\\n') end\n"
    run = subprocess.run([LUA, "-"], input=script.encode(), capture_output=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode("utf-8").splitlines() == [paths[0], paths[1], "/takes/\ufffd alone.wav"]
