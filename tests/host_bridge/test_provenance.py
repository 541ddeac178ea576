"""The typed provenance and take-file records: a JSON round trip that loses nothing, and JSON from a file
read as the foreign input it is (another tool's iXML, odd types, numbers past any limit, deep nesting)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from soundloom.engine.licence import Licence
from soundloom.host_bridge.delivery.deliver import Delivery, write_takes
from soundloom.host_bridge.delivery.files import wav_bytes
from soundloom.host_bridge.delivery.provenance import (
    EDIT_KEYS,
    BatchMark,
    Provenance,
    read_file_provenance,
)
from soundloom.host_bridge.delivery.take_file import TakeFile
from soundloom.host_bridge.delivery.wav_metadata import read_provenance
from soundloom.presets import ExportSettings

from ..helpers.cli import soundloom

EDIT = Provenance(
    operation="inpaint",
    prompt="glass shatter",
    negative_prompt="music",
    seed=12,
    steps=30,
    guidance_scale=3.5,
    sampler="ddim",
    eta=0.5,
    variation=2,
    variations=3,
    rerank=True,
    score=0.31,
    model_id="cvssp/audioldm-s-full-v2",
    licence=Licence("cc-by-nc-sa-4.0", noncommercial=True, evidence="the id is Creative Commons NC"),
    source_file="/clips/door.wav",
    strength=0.6,
    start_s=0.5,
    end_s=1.25,
    fade_s=0.05,
    batch=BatchMark("line3-take2", 3, 2, 3),
    soundloom="0.9.0",
    created="2026-12-07T21:00:00",
    fx={"kind": "effects", "name": "Radio Voice", "effect": [{"type": "Gain", "gain_db": -6.0}]},
    export={"sample_rate": 48000},
    sample_rate=48000,
    channels=2,
    loudness_lufs=-20.1,
    true_peak_dbtp=-1.0,
    dry_file="dry/take.dry.wav",
)


def test_every_field_survives_the_json_round_trip() -> None:
    text = json.dumps(EDIT.to_dict(), sort_keys=True)
    assert Provenance.from_dict(json.loads(text)) == EDIT
    assert Provenance.from_dict(json.loads(text)).ignored == ()


def test_a_generation_writes_no_edit_batch_or_rerender_keys() -> None:
    generation = Provenance(prompt="rain", seed=1, soundloom="0.9.0", created="2026-12-07T21:00:00")
    data = generation.to_dict()
    assert not {*EDIT_KEYS, "batch", "rendered_from", "licence"} & set(data)
    assert data["seed"] == 1 and data["dry_file"] is None and data["fx"] is None
    assert Provenance.from_dict(data) == generation


def test_json_without_soundloom_s_mark_is_not_provenance() -> None:
    for foreign in (None, [], "text", 3, {"prompt": "rain"}, {"soundloom": 1.0}, {"Project": {"Scene": 4}}):
        assert Provenance.from_dict(foreign) is None


def test_values_of_the_wrong_type_are_set_aside_and_named() -> None:
    odd = {
        **EDIT.to_dict(),
        "prompt": 42,  # a number where text belongs
        "seed": True,  # JSON true is not a seed
        "steps": "thirty",
        "score": float("inf"),  # what 1e999 reads as
        "loop": "yes",
        "licence": ["mit"],
        "batch": {"take": "k", "line": "3"},
        "fx": "Radio Voice",
        "unknown_key": {"deep": [1, 2, 3]},  # a later version's field: not ours to type, skipped
    }
    provenance = Provenance.from_dict(odd)
    assert set(provenance.ignored) == {"prompt", "seed", "steps", "score", "loop", "licence", "batch", "fx"}
    assert provenance.prompt == "" and provenance.seed is None and provenance.licence is None
    assert provenance.sampler == "ddim" and provenance.end_s == 1.25  # the rest is read as written


def riff_with_ixml(user: str) -> bytes:
    """A WAV whose iXML USER field holds `user`, as another tool (or an attacker) may write it."""
    wav = wav_bytes(np.zeros((160, 1), np.float32), 16000)
    payload = f"<BWFXML><USER>{user}</USER></BWFXML>".encode()
    chunk = b"iXML" + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    body = wav[12:] + chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def test_json_past_python_s_limits_reads_as_none_not_a_traceback(tmp_path: Path) -> None:
    huge_integer = '{"soundloom": "0.9.0", "seed": ' + "9" * 5000 + "}"  # past int's 4300-digit limit
    deep = '{"soundloom": "0.9.0", "fx": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for number, user in enumerate((huge_integer, deep)):
        data = riff_with_ixml(user)
        assert read_provenance(data) is None
        (tmp_path / f"odd{number}.wav").write_bytes(data)
        assert read_file_provenance(tmp_path / f"odd{number}.wav") is None
        shown = soundloom("info", tmp_path / f"odd{number}.wav")
        assert shown.returncode == 0 and "none (not written by Soundloom)" in shown.stdout, shown.stderr


def test_info_prints_what_it_can_read_and_names_what_it_set_aside(tmp_path: Path) -> None:
    odd = {**EDIT.to_dict(), "seed": "twelve", "fx": {"name": 7, "effect": "none", "tail": []}}
    path = tmp_path / "odd.wav"
    path.write_bytes(riff_with_ixml(json.dumps(odd).replace("&", "&amp;").replace("<", "&lt;")))
    shown = soundloom("info", path)
    assert shown.returncode == 0, shown.stderr
    assert "prompt       glass shatter" in shown.stdout and "sampler      ddim" in shown.stdout
    assert "ignored      seed (not of the type Soundloom writes)" in shown.stdout
    assert "fx           7:  (tail [])" in shown.stdout  # a chain of odd shape is shown, never a traceback


def test_a_delivered_take_reads_back_as_the_same_record(tmp_path: Path) -> None:
    made = Provenance(prompt="rain", seed=5, variation=1, variations=1, model_id="default")
    audio = np.random.default_rng(0).standard_normal((16000, 1)).astype(np.float32) * 0.1
    delivery = Delivery(export=ExportSettings(sample_rate=48000))
    [written] = write_takes([(made, audio, 16000)], tmp_path, delivery, overwrite=False)
    again = TakeFile.read(Path(written.take.path))
    assert again == written.take and again.provenance == written.take.provenance
    assert (again.duration_s, again.sample_rate, again.seed) == (1.0, 48000, 5)
    assert TakeFile.from_list(again.to_list()) == again  # the reply's and the journal's form
    assert written.dry_path is not None and written.dry_path.is_file()
