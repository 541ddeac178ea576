"""Finding a checkpoint and loading its tensors into our modules, with an error for every mismatch.

A checkpoint is a folder in the diffusers layout (model_index.json plus one folder per component), found
as a local path or downloaded by hub id into the standard Hugging Face cache. Weights load by key name:
the published key names are the contract. Only safetensors are read unless the caller opts into pickle
files, which are then read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load, load_file
from torch import nn

from .errors import EngineError, first_line

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# (safetensors, sharded safetensors index, pickle) file names, diffusers' and transformers' conventions.
WEIGHT_NAMES = {
    "diffusers": (
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model.safetensors.index.json",
        "diffusion_pytorch_model.bin",
    ),
    "transformers": ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"),
}
PIPELINE_FAMILIES = {"AudioLDMPipeline": "audioldm", "AudioLDM2Pipeline": "audioldm2"}


def resolve_checkpoint(model: str, allow_pickle: bool = False) -> Path:
    """A local checkpoint folder, or a hub id fetched into (or found in) the Hugging Face cache."""
    path = Path(model).expanduser()
    if path.exists():
        return _checked_folder(path)
    if not HUB_ID.match(model) or model.startswith((".", "~")):
        raise EngineError(f"no checkpoint folder at {path}")
    return _checked_folder(_download(model, allow_pickle))


def _checked_folder(path: Path) -> Path:
    if not path.is_dir():
        raise EngineError(f"{path} is a file; a checkpoint is a folder holding model_index.json")
    if not (path / "model_index.json").is_file():
        raise EngineError(f"{path} is not a checkpoint folder: it has no model_index.json")
    return path


def _download(repo_id: str, allow_pickle: bool) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    patterns = [
        "model_index.json",
        "README.md",  # the model card: its licence is shown and carried into every take
        "*/config.json",
        "*/scheduler_config.json",
        "*/preprocessor_config.json",
        "*/*.safetensors",
        "*/*.safetensors.index.json",
        "tokenizer*/*",
    ]
    if allow_pickle:
        patterns.append("*/*.bin")
    ignore = ["*.fp16.*", "*.ckpt", "*.msgpack", "*.onnx"]
    try:
        return Path(
            snapshot_download(repo_id, allow_patterns=patterns, ignore_patterns=ignore, local_files_only=True)
        )
    except LocalEntryNotFoundError:
        pass  # not cached yet: download it
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, ignore_patterns=ignore))
    except Exception as error:  # network, authentication, missing repo: all end the same way for the user
        reason = first_line(error)
        raise EngineError(
            f"could not download {repo_id!r} from the Hugging Face Hub ({reason}); there is no local "
            f"folder of that name either. Without network, download it elsewhere (`hf download {repo_id}`) "
            "and pass its folder: --model /path/to/folder"
        ) from None


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EngineError(f"{path} is missing")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EngineError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise EngineError(f"{path} must hold a JSON object")
    return data


def checkpoint_family(folder: Path) -> str:
    """'audioldm' or 'audioldm2', from model_index.json's pipeline class."""
    index = read_json(folder / "model_index.json")
    name = index.get("_class_name")
    if name not in PIPELINE_FAMILIES:
        raise EngineError(
            f"{folder / 'model_index.json'}: pipeline {name!r} is not an AudioLDM checkpoint "
            f"(expected one of {sorted(PIPELINE_FAMILIES)})"
        )
    return PIPELINE_FAMILIES[name]


def weight_files(component: Path, convention: str, allow_pickle: bool) -> list[Path]:
    """The weight files of one component folder, safetensors first."""
    single, index, pickle_name = WEIGHT_NAMES[convention]
    if (component / single).is_file():
        return [component / single]
    if (component / index).is_file():
        shards = sorted(set(read_json(component / index).get("weight_map", {}).values()))
        return [component / shard for shard in shards]
    if (component / pickle_name).is_file():
        if not allow_pickle:
            raise EngineError(
                f"{component / pickle_name} is a pickle file and no safetensors file is there; "
                "pass --allow-pickle to load it (read with torch.load(weights_only=True))"
            )
        return [component / pickle_name]
    raise EngineError(f"{component} holds no weights (expected {single})")


def load_tensors(files: list[Path], in_memory: bool = False) -> dict[str, torch.Tensor]:
    """Every tensor in `files`. safetensors are memory-mapped (pages read when first used) unless
    `in_memory`: then read whole into the process's own memory. That is for weights about to be copied
    (another layout or dtype): a copy made from a mapping leaves the mapped file pages it read resident,
    counted again in the process's memory for as long as any other tensor keeps the file mapped."""
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        if not file.is_file():
            raise EngineError(f"weight file {file} is missing")
        try:
            if file.suffix == ".safetensors" and in_memory:
                tensors.update(load(file.read_bytes()))
            elif file.suffix == ".safetensors":
                tensors.update(load_file(file, device="cpu"))
            else:
                tensors.update(torch.load(file, map_location="cpu", weights_only=True))
        except Exception as error:  # a truncated or foreign file: name it
            raise EngineError(f"cannot read {file}: {error}") from None
    return tensors


def count_parameters(files: list[Path]) -> int:
    """Parameter count from safetensors headers alone (pickle files are loaded)."""
    total = 0
    for file in files:
        if file.suffix == ".safetensors":
            with safe_open(file, framework="pt") as handle:
                for key in handle.keys():  # noqa: SIM118 (safe_open is not a mapping)
                    shape = handle.get_slice(key).get_shape()
                    total += math.prod(shape)  # () for a scalar: 1
        else:
            total += sum(t.numel() for t in load_tensors([file]).values())
    return total


def load_module(module: nn.Module, tensors: dict[str, torch.Tensor], source: str) -> nn.Module:
    """Load `tensors` into a module built on the meta device; every key must be present and fit."""
    expected = module.state_dict()
    missing = [key for key in expected if key not in tensors]
    unexpected = [key for key in tensors if key not in expected]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise EngineError(
            f"{source}: tensor {missing[0]!r} is missing{more}; the file does not match its config"
        )
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise EngineError(
            f"{source}: unexpected tensor {unexpected[0]!r}{more}; the file does not match its config"
        )
    for key, value in expected.items():
        if tuple(tensors[key].shape) != tuple(value.shape):
            raise EngineError(
                f"{source}: tensor {key!r} has shape {tuple(tensors[key].shape)}, "
                f"its config implies {tuple(value.shape)}"
            )
    module.load_state_dict(tensors, strict=True, assign=True)
    return module.eval().requires_grad_(False)


def load_component(
    component: Path,
    module_class: type[nn.Module],
    config_class,
    convention: str,
    allow_pickle: bool = False,
    in_memory: bool = False,
) -> nn.Module:
    """Build a component from its folder (config.json + weights) with every tensor checked by name;
    `in_memory`: see load_tensors."""
    config = config_class.from_dict(read_json(component / "config.json"), f"{component.name}/config.json")
    files = weight_files(component, convention, allow_pickle)
    try:
        with torch.device("meta"):
            module = module_class(config)
    except (ValueError, TypeError) as error:
        raise EngineError(f"{component / 'config.json'}: {error}") from None
    return load_module(module, load_tensors(files, in_memory), str(files[0]))


@dataclass
class ComponentInfo:
    name: str
    class_name: str
    parameters: int


@dataclass
class CheckpointSummary:
    folder: Path
    pipeline: str
    family: str
    sample_rate: int
    components: list[ComponentInfo]


def inspect_checkpoint(model: str, allow_pickle: bool = False) -> CheckpointSummary:
    """What a checkpoint holds: family, sample rate, each component's class and parameter count.

    Parameter counts come from the safetensors headers, so nothing is loaded.
    """
    folder = resolve_checkpoint(model, allow_pickle)
    family = checkpoint_family(folder)
    index = read_json(folder / "model_index.json")
    components = []
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or spec[1] is None:
            continue
        library, class_name = spec
        component = folder / name
        if not component.is_dir():
            raise EngineError(f"{folder}: component folder {name}/ named in model_index.json is missing")
        # diffusers names pipeline-specific modules by their pipeline ("audioldm2"); they use its files.
        convention = "transformers" if library == "transformers" else "diffusers"
        has_weights = any((component / candidate).is_file() for candidate in WEIGHT_NAMES[convention])
        parameters = count_parameters(weight_files(component, convention, allow_pickle)) if has_weights else 0
        components.append(ComponentInfo(name, class_name, parameters))
    sample_rate = int(read_json(folder / "vocoder" / "config.json").get("sampling_rate", 16000))
    return CheckpointSummary(folder, index["_class_name"], family, sample_rate, components)
