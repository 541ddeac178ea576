"""The Ardour actions against a real Ardour 7 (headless `ardour7-lua`, Debian's `ardour` package) and a real
`soundloom serve` on the built-in model; sessions rendered with the real `ardour7-export`.

The actions' session side runs unchanged inside Ardour; only the editor's selection and dialogs are stood
in for (ardour_driver.lua says how), because `ardour7-lua` has no GUI. Positions are checked in the
exported mix: each result must match its file exactly at the expected sample, and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import os
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

from ..helpers.bridge_process import start_bridge
from ..helpers.lua_values import lua_literal

ARDOUR_LUA = shutil.which("ardour7-lua") or pytest.fail("ardour7-lua missing: apt-get install ardour")
ARDOUR_EXPORT = shutil.which("ardour7-export") or pytest.fail(
    "ardour7-export missing: apt-get install ardour"
)
DRIVER = Path(__file__).with_name("ardour_driver.lua")
DAW = Path(host_bridge.__file__).parent / "daw"
RATE = 48000
DIALOG_AT = 144_000  # 3.0 s
PLAYHEAD = 59_259  # 1.234563 s: not on any grid
FADE = 64  # Ardour's default region fade in and out, in samples
PAN_LAW = 10 ** (-3 / 20)  # a mono track into the stereo master: -3 dB in each side at the centre


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory):
    """A bridge on the built-in model that may read the sessions folder, and Ardour with Soundloom's
    scripts installed as README.md says: copied into $XDG_CONFIG_HOME/ardour7/scripts."""
    root = tmp_path_factory.mktemp("ardour")
    sessions = root / "sessions"
    sessions.mkdir()
    bridge = start_bridge(Path("default"), root / "data", "--root", str(sessions), "--no-temp-root")
    scripts = root / "config" / "ardour7" / "scripts"
    scripts.mkdir(parents=True)
    for script in [*(DAW / "ardour").glob("*.lua"), DAW / "lua" / "soundloom_spool.lua"]:
        shutil.copy(script, scripts)
    (scripts / "soundloom_spool.txt").write_text(f"{bridge.spool}\n")
    t = np.arange(RATE) / RATE
    dialog = 0.3 * np.sin(2 * np.pi * (200 + 400 * t) * t) * np.exp(-2 * t)
    sf.write(sessions / "dialog.wav", dialog.astype(np.float32), RATE, subtype="FLOAT")
    yield {"root": root, "sessions": sessions, "bridge": bridge, "config": root / "config"}
    assert bridge.stop() == 0, "".join(bridge.log)


def drive(studio, step: str, plan: dict, background: bool = False):
    state = studio["root"] / f"plan-{time.monotonic_ns()}.lua"
    state.write_text("return " + lua_literal(plan))
    command = [ARDOUR_LUA, str(DRIVER), step, str(state)]
    env = {**os.environ, "XDG_CONFIG_HOME": str(studio["config"])}
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return result(subprocess.run(command, capture_output=True, text=True, timeout=400, env=env))


def result(run: subprocess.CompletedProcess) -> tuple[list[str], list[list], list[int]]:
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    messages, regions, extent = json.loads(lines[-1].removeprefix("RESULT "))
    return messages, regions, extent


def new_session(studio, name: str, folder: Path | None = None) -> dict:
    plan = {
        "folder": str((folder or studio["sessions"]) / name), "name": name, "rate": RATE,
        "dialog_file": str(studio["sessions"] / "dialog.wav"), "dialog_position": DIALOG_AT,
    }  # fmt: skip
    messages, regions, _ = drive(studio, "create", plan)
    assert messages == [] and regions == [["Dialog", "dialog", DIALOG_AT, RATE, 0]]
    return plan


def export(plan: dict, out: Path, expected_frames: int) -> tuple[np.ndarray, str]:
    """The session's range through ardour7-export, as 32-bit float. ardour7-export 7.3 was seen to exit
    134 (abort in teardown) after writing a complete file; that is accepted only if the file is whole."""
    run = subprocess.run(
        [ARDOUR_EXPORT, "-b", "float", "-o", str(out), plan["folder"], plan["name"]],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    note = ""
    if run.returncode != 0:
        whole = out.is_file() and sf.info(out).frames == expected_frames
        assert whole, f"ardour7-export exited {run.returncode}:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
        note = f"ardour7-export exited {run.returncode} after writing the whole file"
    mix, rate = sf.read(out, dtype="float64")
    assert rate == RATE and len(mix) == expected_frames
    return mix, note


def misfit(mix: np.ndarray, take: np.ndarray, at: int, gain: float) -> float:
    """How far `mix` from sample `at` is from `gain` x `take`, inside the region's default fades."""
    window = np.zeros(len(take))  # past the end of the mix: silence
    part = mix[max(at, 0) : at + len(take)]
    window[max(-at, 0) : max(-at, 0) + len(part)] = part
    inner = slice(FADE, len(take) - FADE)
    return float(np.abs(window[inner] - gain * take[inner]).max())


def placed_at(mix: np.ndarray, take: np.ndarray, expected: int, gain: float, search: int = 200) -> int:
    """The sample where `take` sits in `mix`: the lag near `expected` where they match best."""
    return min(range(expected - search, expected + search + 1), key=lambda at: misfit(mix, take, at, gain))


def bridge_results(studio, prompt_slug: str) -> list[Path]:
    return sorted(studio["bridge"].output.glob(f"*{prompt_slug}*.wav"), key=lambda path: path.stat().st_mtime)


def test_generate_and_transfer_land_on_the_sample_in_a_real_ardour_session(studio, tmp_path) -> None:
    plan = new_session(studio, "roundtrip")
    source = Path(plan["folder"]) / "interchange" / "roundtrip" / "audiofiles" / "dialog.wav"
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    started = time.monotonic()
    messages, regions, extent = drive(studio, "act", {
        **plan, "playhead": PLAYHEAD, "tracks": ["FX"], "regions": [["Dialog", 1]],
        "actions": ["generate", "transfer"],
        "answers": {
            "Soundloom: generate": {"prompt": "soft wind, distant", "length": "0.5", "variations": "1"},
            "Soundloom: transfer": {"prompt": "robot voice", "strength": "0.5"},
        },
    })  # fmt: skip
    acted_s = time.monotonic() - started
    assert messages == []
    [generated] = bridge_results(studio, "soft_wind_distant")
    [transferred] = bridge_results(studio, "transfer_robot_voice")
    by_track = sorted((track, position, length, layer) for track, _, position, length, layer in regions)
    assert by_track == [
        ("Dialog", DIALOG_AT, RATE, 0),
        ("Dialog", DIALOG_AT, RATE, 1),
        ("FX", PLAYHEAD, 24000, 0),
    ]
    assert extent == [0, DIALOG_AT + RATE]  # the session range grew to hold the generation
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before  # the user's audio is untouched

    started = time.monotonic()
    mix, note = export(plan, tmp_path / "mix.wav", DIALOG_AT + RATE)
    exported_s = time.monotonic() - started
    take, take_rate = sf.read(generated, dtype="float64")
    assert take_rate == RATE and take.ndim == 1 and len(take) == 24000
    generated_at = placed_at(mix[:, 0], take, PLAYHEAD, gain=1.0)  # a stereo track: unity at the centre
    # It failed once in ~20 CI runs with the search's edge (the mix did not hold the take there): say what
    # the mix held, so the next failure tells Ardour's export from our placing.
    held = np.abs(mix[PLAYHEAD : PLAYHEAD + len(take), 0]).max(initial=0.0)
    assert generated_at == PLAYHEAD, (
        f"take found at {generated_at}, expected {PLAYHEAD}; the mix's peak there {held:.3g}, the take's "
        f"{np.abs(take).max():.3g}; misfit at the playhead {misfit(mix[:, 0], take, PLAYHEAD, 1.0):.3g}; "
        f"regions {regions}; export: {note or 'clean'}; mix kept in {tmp_path / 'mix.wav'}"
    )
    assert misfit(mix[:, 0], take, PLAYHEAD, 1.0) < 1e-6 < misfit(mix[:, 0], take, PLAYHEAD + 1, 1.0)
    # Failed once in CI (2026-12-05) and never in reruns: say where and how the channels differ, so the
    # next failure tells a panner ramp or an export artefact from a misplaced region.
    apart = np.flatnonzero(mix[:, 0] != mix[:, 1])
    assert apart.size == 0, (
        f"left and right differ at {apart.size} samples, {apart[:1]}..{apart[-1:]} (the take spans "
        f"{PLAYHEAD}-{PLAYHEAD + len(take)}, the dialog from {DIALOG_AT}), by at most "
        f"{np.abs(mix[:, 0] - mix[:, 1]).max():.3g}; export: {note or 'clean'}; "
        f"mix kept in {tmp_path / 'mix.wav'}"
    )
    edit, _ = sf.read(transferred, dtype="float64")
    transferred_at = placed_at(mix[:, 0], edit, DIALOG_AT, gain=PAN_LAW)
    assert transferred_at == DIALOG_AT and misfit(mix[:, 0], edit, DIALOG_AT, PAN_LAW) < 1e-6
    silent = np.ones(len(mix), bool)
    silent[PLAYHEAD : PLAYHEAD + len(take)] = silent[DIALOG_AT:] = False
    assert np.abs(mix[silent]).max() == 0  # nothing anywhere else
    print(
        f"\nArdour round trip: generated at sample {generated_at} (expected {PLAYHEAD}), transfer at "
        f"{transferred_at} (expected {DIALOG_AT}); actions and placing {acted_s:.1f} s, "
        f"export {exported_s:.1f} s" + (f"; {note}" if note else "")
    )


def test_inpaint_extend_and_vary_stack_on_the_region(studio) -> None:
    plan = new_session(studio, "edits")
    messages, regions, _ = drive(studio, "act", {
        **plan, "regions": [["Dialog", 1]], "range": [DIALOG_AT + 12_000, DIALOG_AT + 24_000],
        "actions": ["inpaint", "extend", "vary"],
        "answers": {
            "Soundloom: inpaint": {"prompt": "cough, dry"},
            "Soundloom: extend": {"prompt": "room tone", "seconds": "1"},
        },
    })  # fmt: skip
    assert messages == []
    assert {track for track, *_ in regions} == {"Dialog"}
    assert ["Dialog", "dialog", DIALOG_AT, RATE, 0] in regions  # the original, underneath, where it was
    stacked = sorted((position, length) for _, _, position, length, _ in regions)
    assert stacked == [(DIALOG_AT, RATE)] * 3 + [(DIALOG_AT, 2 * RATE)]  # extend: the region and 1 s more
    assert sorted(layer for *_, layer in regions) == [0, 1, 2, 3]
    with closing(sqlite3.connect(studio["bridge"].data / "jobs.sqlite")) as journal:
        sent = [json.loads(row[0]) for row in journal.execute("SELECT message FROM jobs ORDER BY job_id")]
    inpaint = next(
        message for message in sent if message[0] == "/soundloom/inpaint" and message[3] == "cough, dry"
    )
    options = dict(zip(inpaint[4::2], inpaint[5::2], strict=True))
    assert (options["start"], options["end"], options["rate"]) == (0.25, 0.5, RATE)
    assert Path(inpaint[2]).parent == Path(plan["folder"]) / "export"  # the region's audio, as a file


def test_what_goes_wrong_is_said_and_nothing_is_placed(studio, tmp_path) -> None:
    plan = new_session(studio, "mishaps")
    messages, regions, _ = drive(studio, "act", {
        **plan, "regions": [["Dialog", 1]], "actions": ["transfer"], "remove_regions": ["Dialog"],
        "answers": {"Soundloom: transfer": {"prompt": "thunder", "strength": "0.3"}},
    })  # fmt: skip
    assert regions == [] and len(messages) == 1
    assert "region was removed" in messages[0] and str(studio["bridge"].output) in messages[0]
    (studio["bridge"].spool / "ardour-hook.json").unlink()  # an Ardour whose hook never ran
    messages, regions, _ = drive(studio, "act", {
        **plan, "tracks": ["FX"], "actions": ["generate"], "hook_off": True,
        "answers": {"Soundloom: generate": {"prompt": "hum", "length": "1", "variations": "1"}},
    })  # fmt: skip
    assert len(messages) == 1 and "Script Manager > Action Hooks" in messages[0]
    outside = tmp_path / "not-a-root"
    outside.mkdir()
    stray = new_session(studio, "stray", folder=outside)
    messages, _, _ = drive(studio, "act", {
        **stray, "regions": [["Dialog", 1]], "actions": ["vary"],
    })  # fmt: skip
    [message] = messages
    assert message.startswith("Soundloom: bad_path:") and "--root" in message and str(outside) in message


def test_takes_sent_from_the_app_land_at_the_playhead(studio) -> None:
    plan = new_session(studio, "receiving")
    take = studio["bridge"].output / "pushed.wav"
    burst = np.random.default_rng(3).uniform(-0.5, 0.5, 8000)
    sf.write(take, burst, 16000, subtype="FLOAT")  # the built-in model's rate: Ardour resamples it
    driver = drive(
        studio, "receive", {**plan, "playhead": PLAYHEAD, "tracks": ["FX"], "ticks_s": 6}, background=True
    )
    receiving = studio["bridge"].spool / "ardour-receiving.json"
    deadline = time.monotonic() + 60
    while not receiving.exists() and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the toggle is on: what is pushed from now on is this session's
    TakeOutbox(studio["bridge"].spool).push(str(take), 0.5, 16000)
    stdout, stderr = driver.communicate(timeout=120)
    messages, regions, _ = result(subprocess.CompletedProcess(driver.args, driver.returncode, stdout, stderr))
    assert messages == [
        "Soundloom: takes sent from the app are placed at the playhead on the selected track."
    ]
    assert ["FX", "pushed", PLAYHEAD, 24000, 0] in regions
