"""Effect-chain and prompt presets, and the render stage they drive: dry engine output in, a finished
asset out (effects, export rate and layout, loudness, true-peak ceiling). No torch here.
"""

from .effects import BUILTIN_EFFECTS, Effect, EffectChain, build_board
from .errors import PresetError
from .library import PresetLibrary, load_library, load_preset_file, save_preset, user_preset_folder
from .prompts import PromptPreset
from .render import ExportSettings, RenderedAudio, render, to_pcm

__all__ = [
    "BUILTIN_EFFECTS",
    "Effect",
    "EffectChain",
    "ExportSettings",
    "PresetError",
    "PresetLibrary",
    "PromptPreset",
    "RenderedAudio",
    "build_board",
    "load_library",
    "load_preset_file",
    "render",
    "save_preset",
    "to_pcm",
    "user_preset_folder",
]
