"""The ReaPack index of the REAPER actions: well-formed, current, and listing exactly the shipped files."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import soundloom.host_bridge as host_bridge
from soundloom.host_bridge.daw.reapack import PUBLISHED, local_index, published_index
from soundloom.host_bridge.home import soundloom_version

from ..helpers.lua_values import lua_literal

DAW = Path(host_bridge.__file__).parent / "daw"
INDEX = DAW / "reaper" / "index.xml"
FAKE_REAPER = Path(__file__).with_name("fake_reaper.lua")


def sources(index_text: str) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(index_text)
    assert root.tag == "index" and root.get("version") == "1"
    [category] = root.findall("category")
    [package] = category.findall("reapack")
    assert package.get("type") == "script"
    [version] = package.findall("version")
    assert version.get("name") == soundloom_version()
    return version.findall("source")


def test_the_index_lists_exactly_the_shipped_scripts_at_this_version() -> None:
    listed = sources(INDEX.read_text())
    on_disk = {
        path.relative_to(DAW).as_posix()
        for folder in ("reaper", "lua")
        for path in (DAW / folder).glob("*.lua")
    }
    assert sorted(source.get("file") for source in listed) == sorted(on_disk)
    for source in listed:
        action = Path(source.get("file")).name.startswith("Soundloom - ")
        assert (source.get("main") == "main") == action  # actions go into REAPER's action list, modules not
        assert source.text == PUBLISHED.format(version=soundloom_version()) + quote(source.get("file"))
        assert " " not in source.text
    assert INDEX.read_text() == published_index(), (
        "index.xml is stale: python3 -m soundloom.host_bridge.daw.reapack"
    )


def test_an_install_from_the_local_index_runs_from_where_reapack_puts_it(tmp_path: Path) -> None:
    """ReaPack installs each source at its `file` path under the category folder; the actions must still
    find their shared Lua there."""
    category = tmp_path / "Scripts" / "Soundloom" / "Soundloom"
    for source in sources(local_index()):
        origin = Path(unquote(urlparse(source.text).path))
        assert origin.read_bytes() == (DAW / source.get("file")).read_bytes()
        target = category / source.get("file")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(origin, target)
    state = tmp_path / "state.lua"
    state.write_text("return " + lua_literal({"tracks": [{"name": "FX"}], "inputs": ["rain", "1", "1"]}))
    action = category / "reaper" / "Soundloom - Generate at edit cursor.lua"
    run = subprocess.run(["lua5.4", FAKE_REAPER, state, action], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    messages = json.loads(run.stdout)[2]
    assert messages == ["Select a track: the sound is placed on it at the edit cursor."]
