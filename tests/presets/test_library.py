"""Preset files: built-in and user folders, overrides, saving, and errors that name file, line and field."""

from pathlib import Path

import pytest
from soundloom.presets import EffectChain, PresetError, load_library, load_preset_file, save_preset
from soundloom.presets.library import BUILTIN_FOLDER, user_preset_folder
from soundloom.presets.prompts import PromptPreset

BROKEN = """kind = "effects"
name = "Broken"

[[effect]]
type = "Gain"
gain_db = -3.0

[[effect]]
type = "Compressor"
threshold_db = -20.0
ratio = 0.5
"""


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDLOOM_CONFIG_DIR", str(tmp_path / "config"))
    folder = user_preset_folder()
    folder.mkdir(parents=True)
    return folder


def test_the_shipped_presets_all_load_and_there_are_at_least_twelve_of_each_kind():
    library = load_library([(BUILTIN_FOLDER, True)])
    assert library.errors == []
    assert len(library.effects) >= 12 and len(library.prompts) >= 12
    for name in (
        "Cinematic Impact",
        "Radio Voice",
        "Underwater",
        "Lo-fi",
        "Sci-fi Drone",
        "Distant/Outdoor",
        "Clean Master",
    ):
        assert library.effect(name).active
    for name in ("Footsteps", "Whoosh", "Ambience"):
        assert "{" not in library.prompt(name).prompt()


def test_names_match_loosely():
    library = load_library([(BUILTIN_FOLDER, True)])
    assert library.effect("cinematic-impact") is library.effect("Cinematic Impact")
    assert library.effect("CINEMATIC IMPACT").name == "Cinematic Impact"


def test_a_broken_file_names_its_file_line_and_field_and_the_others_still_load(user_folder):
    (user_folder / "broken.toml").write_text(BROKEN)
    library = load_library()
    assert len(library.effects) >= 12  # the built-ins are all there
    [error] = library.errors
    assert error.file.endswith("broken.toml") and error.line == 11  # the `ratio = 0.5` line
    assert error.field == "effect[2].ratio" and error.preset == "Broken"
    assert str(error).startswith(f"{user_folder / 'broken.toml'}:11: preset 'Broken', effect 2 (Compressor)")
    with pytest.raises(PresetError, match=r"0\.5 is outside 1 to 100"):
        library.effect("Broken")  # asking for it says why it is missing


def test_invalid_toml_reports_its_line(user_folder):
    (user_folder / "syntax.toml").write_text('kind = "effects"\nname = "Syntax"\ntail = keep\n')
    [error] = load_library().errors
    assert error.line == 3 and "not valid TOML" in str(error)


def test_a_top_level_field_error_points_at_its_line(tmp_path):
    path = tmp_path / "tail.toml"
    path.write_text('kind = "effects"\nname = "T"\ntail = "forever"\n')
    with pytest.raises(PresetError) as caught:
        load_preset_file(path)
    assert caught.value.line == 3 and caught.value.field == "tail"


def test_a_user_preset_overrides_the_builtin_of_the_same_name(user_folder):
    (user_folder / "my-radio.toml").write_text(
        'kind = "effects"\nname = "radio voice"\n\n[[effect]]\ntype = "Gain"\ngain_db = -6.0\n'
    )
    library = load_library()
    chain = library.effect("Radio Voice")
    assert [effect.type for effect in chain.effects] == ["Gain"]
    assert not library.effects["radio-voice"].builtin


def test_saving_a_chain_writes_a_file_that_loads_back_equal(user_folder):
    chain = load_library([(BUILTIN_FOLDER, True)]).effect("Convolution Hall")
    mine = EffectChain("My Hall", chain.effects, tail="cut", description="edited")
    path = save_preset(mine)
    assert path == user_folder / "my-hall.toml"
    again = load_preset_file(path)
    assert again == mine  # the impulse response is saved as an absolute path, so it still resolves
    with pytest.raises(PresetError, match="already exists"):
        save_preset(mine)
    save_preset(EffectChain("My Hall", (), description="emptied"), overwrite=True)
    assert load_preset_file(path).description == "emptied"


def test_prompt_presets_fill_their_blanks_and_carry_settings():
    footsteps = load_library([(BUILTIN_FOLDER, True)]).prompt("footsteps")
    fields = footsteps.request_fields({"surface": "wet cobblestones"})  # free text is fine
    assert fields["prompt"] == "footsteps on wet cobblestones, close perspective, steady walking pace"
    assert fields["negative_prompt"] and fields["duration_s"] == 5.0
    assert footsteps.fx == "Tight Foley"
    with pytest.raises(PresetError, match="no blank called 'floor'"):
        footsteps.prompt({"floor": "wood"})


def test_a_prompt_preset_round_trips_through_save(user_folder):
    preset = PromptPreset(
        "Laser",
        "a {colour} laser",
        {"colour": ("red", "blue")},
        "music",
        {"steps": 30, "loop": True},
        "Robot",
    )
    assert load_preset_file(save_preset(preset)) == preset


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('template = "a {thing}"', "template", "the blank {thing} has no entry"),
        ('template = "a door"\nsteps = 2.5', "steps", "whole number"),
        ('template = "a door"\nsampler = "heun"', "sampler", "sampler must be one of dpm++, ddim, euler"),
        ('template = "a door"\nguidance_scale = -1', "guidance_scale", "between 0 and 30, got -1"),
        ('template = "a {x}"\n\n[variables]\nx = []', "variables.x", "one or more suggestions"),
    ],
)
def test_bad_prompt_presets_name_their_field(tmp_path, text, field, words):
    path = tmp_path / "p.toml"
    path.write_text(f'kind = "prompt"\nname = "P"\n{text}\n')
    with pytest.raises(PresetError) as caught:
        load_preset_file(path)
    assert caught.value.field == field and words in str(caught.value)
    assert (
        caught.value.line is not None
        and field.split(".")[-1] in path.read_text().splitlines()[caught.value.line - 1]
    )


def test_a_prompt_preset_naming_a_missing_chain_is_reported(user_folder):
    (user_folder / "p.toml").write_text('kind = "prompt"\nname = "P"\ntemplate = "x"\nfx = "Nope"\n')
    library = load_library()
    [error] = library.errors
    assert error.field == "fx" and error.line == 4 and "Nope" in str(error)
    assert "p" not in library.prompts


def test_a_file_of_unknown_kind_is_refused(tmp_path):
    path = Path(tmp_path / "k.toml")
    path.write_text('kind = "chain"\nname = "K"\n')
    with pytest.raises(PresetError, match="must be one of effects, prompt"):
        load_preset_file(path)
