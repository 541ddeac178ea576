"""A checkpoint's licence through every surface: the command line's notice, `models list|inspect`, each
take's provenance (iXML JSON and the bext description), `info`, `fx apply`, and the bridge's
`/soundloom/models licence`, with real processes and liblo's tools."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from soundloom.engine.licence import Licence
from soundloom.host_bridge.delivery.deliver import summary
from soundloom.host_bridge.delivery.provenance import Provenance
from soundloom.host_bridge.delivery.wav_metadata import BEXT_DESCRIPTION, read_bext, read_provenance

from ..helpers.bridge_process import OscDump, oscsend, start_bridge
from ..helpers.cli import generate, soundloom
from ..helpers.hub_cache import put_in_hub_cache

NC_CARD = "---\nlicense: cc-by-nc-sa-4.0\nlibrary_name: diffusers\n---\n\n# AudioLDM\n\nA test card.\n"
DEED = "https://creativecommons.org/licenses/by-nc-sa/4.0/"


@pytest.fixture(scope="module")
def nc_checkpoint(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint with the model card the published AudioLDM checkpoints carry (cc-by-nc-sa-4.0)."""
    folder = Path(shutil.copytree(tiny_checkpoint, tmp_path_factory.mktemp("nc") / "audioldm-nc"))
    (folder / "README.md").write_text(NC_CARD)
    return folder


def licence_in(path: Path) -> dict:
    return read_provenance(path.read_bytes())["licence"]


def test_a_non_commercial_card_is_warned_once_and_carried_into_every_take(
    nc_checkpoint: Path, tmp_path: Path
) -> None:
    run = generate("metal door", nc_checkpoint, tmp_path, seed=5, variations=2)
    assert run.returncode == 0, run.stderr
    notices = [line for line in run.stderr.splitlines() if line.startswith("notice:")]
    assert (
        len(notices) == 1
        and f"{nc_checkpoint}: its model card gives the licence cc-by-nc-sa-4.0" in notices[0]
    )
    takes = [Path(line) for line in run.stdout.split()]
    assert len(takes) == 2
    for take in takes:
        licence = licence_in(take)
        assert (licence["id"], licence["link"], licence["noncommercial"]) == ("cc-by-nc-sa-4.0", DEED, True)
        assert read_bext(take.read_bytes())["description"].endswith(
            "| licence cc-by-nc-sa-4.0 (non-commercial)"
        )
    info = soundloom("info", takes[0])
    assert info.returncode == 0, info.stderr
    assert f"licence      cc-by-nc-sa-4.0 (non-commercial)  {DEED}" in info.stdout
    assert info.stdout.count("licence      ") == 1  # once, not again beside the regenerate line
    assert json.loads(soundloom("info", takes[0], "--json").stdout)["licence"]["id"] == "cc-by-nc-sa-4.0"

    clip = tmp_path / "clip.wav"
    sf.write(clip, np.sin(np.arange(8000) / 9).astype(np.float32) * 0.3, 16000)
    edit = soundloom(
        "transfer", clip, "wind", "--model", nc_checkpoint, "--steps", "2", "--out", tmp_path / "t.wav"
    )
    assert edit.returncode == 0, edit.stderr
    assert edit.stderr.count("notice:") == 1 and licence_in(tmp_path / "t.wav")["noncommercial"] is True


def test_fx_apply_keeps_the_source_takes_licence(nc_checkpoint: Path, tmp_path: Path) -> None:
    made = generate("rain", nc_checkpoint, tmp_path / "rain.wav", "--fx", "Lo-fi", seed=2)
    assert made.returncode == 0, made.stderr
    for flags, name in (((), "again.wav"), (("--as-is",), "as-is.wav")):
        out = tmp_path / name
        run = soundloom("fx", "apply", tmp_path / "rain.wav", "--fx", "none", "--out", out, *flags)
        assert run.returncode == 0, run.stderr
        assert licence_in(out)["id"] == "cc-by-nc-sa-4.0", flags
        assert run.stderr.count("notice:") == 1 and str(nc_checkpoint) in run.stderr
    # A recording that Soundloom did not make has no model, so no licence is claimed for it.
    sf.write(tmp_path / "field.wav", np.zeros(1600, np.float32), 16000)
    mine = soundloom("fx", "apply", tmp_path / "field.wav", "--fx", "none", "--out", tmp_path / "mine.wav")
    assert mine.returncode == 0 and "notice" not in mine.stderr
    assert "licence" not in read_provenance((tmp_path / "mine.wav").read_bytes())


def test_a_checkpoint_without_a_card_says_unknown_and_warns_of_nothing(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    run = generate("wind", tiny_checkpoint, tmp_path / "wind.wav")
    assert run.returncode == 0 and "notice" not in run.stderr
    licence = licence_in(tmp_path / "wind.wav")
    assert (licence["id"], licence["noncommercial"]) == ("unknown", False)
    assert "no model card (README.md)" in licence["source"]
    assert "licence      unknown" in soundloom("info", tmp_path / "wind.wav").stdout
    inspect = soundloom("models", "inspect", tiny_checkpoint)
    assert "licence      unknown\n             no model card (README.md)" in inspect.stdout


def test_models_list_and_inspect_show_what_each_card_says(nc_checkpoint: Path, tmp_path: Path) -> None:
    put_in_hub_cache(nc_checkpoint, tmp_path / "hub", "cvssp/audioldm-s-full-v2")
    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    listing = soundloom("models", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line.split()[1:] for line in listing.stdout.splitlines()}
    assert rows["default"][:2] == ["audioldm", "mit"]
    assert rows["cvssp/audioldm-s-full-v2"][:3] == ["audioldm", "cc-by-nc-sa-4.0", "(non-commercial)"]
    inspect = soundloom("models", "inspect", "cvssp/audioldm-s-full-v2", env=env)
    assert f"licence      cc-by-nc-sa-4.0 (non-commercial)  {DEED}" in inspect.stdout
    default = soundloom("models", "inspect", "default")
    assert "licence      mit\n             model card " in default.stdout


def test_a_long_prompt_never_pushes_the_licence_out_of_bext() -> None:
    provenance = Provenance(
        prompt="a door " * 60,
        seed=2**63 - 1,
        steps=200,
        sampler="dpm++",
        guidance_scale=2.5,
        model_id="cvssp/audioldm-s-full-v2",
        fx={"name": "Lo-fi"},
        licence=Licence("cc-by-nc-sa-4.0", noncommercial=True),
    )
    line = summary(provenance)
    assert len(line) == BEXT_DESCRIPTION and line.endswith("| licence cc-by-nc-sa-4.0 (non-commercial)")
    assert line.startswith("a door a door") and "..." in line


def test_the_bridge_reports_licences_warns_at_start_and_embeds(
    nc_checkpoint: Path, tiny_audioldm2: Path, tmp_path: Path
) -> None:
    bridge = start_bridge(nc_checkpoint, tmp_path / "data", "--model", str(tiny_audioldm2))
    dump = OscDump()
    try:
        log = "".join(bridge.log)
        assert log.count("notice:") == 1 and f"notice: {nc_checkpoint}: its model card gives" in log
        oscsend(bridge.port, "/soundloom/models", "si", "reply_port", dump.port)
        assert dump.wait_for("/soundloom/models")[1:] == ["ss", str(nc_checkpoint), str(tiny_audioldm2)]
        oscsend(bridge.port, "/soundloom/models", "ssi", "licence", "reply_port", dump.port)
        assert dump.wait_for("/soundloom/models", "licence")[1:] == [
            "ssssisssi",
            "licence",
            str(nc_checkpoint), "cc-by-nc-sa-4.0", DEED, "1",
            str(tiny_audioldm2), "unknown", "", "0",
        ]  # fmt: skip
        oscsend(bridge.port, "/soundloom/models", "ssi", "licences", "reply_port", dump.port)
        error = dump.wait_for("/soundloom/error", "")
        assert error[3] == "bad_value" and "models takes 'licence'" in error[4]
        oscsend(
            bridge.port, "/soundloom/generate", "sssfsisi", "job", "rain",
            "duration", 0.5, "steps", 2, "reply_port", dump.port,
        )  # fmt: skip
        take = Path(dump.wait_for("/soundloom/done", "job")[3])
        assert licence_in(take)["id"] == "cc-by-nc-sa-4.0"
    finally:
        dump.close()
        assert bridge.stop() == 0, "".join(bridge.log)
