"""Loading checkpoints: local folders, the Hugging Face cache, pickle opt-in, and every kind of mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from soundloom.engine import EngineError, GenerationRequest
from soundloom.engine.checkpoints import inspect_checkpoint, resolve_checkpoint
from soundloom.engine.loader import load_model
from soundloom.engine.local_engine import LocalEngine

from ..helpers.hub_cache import put_in_hub_cache

UNET_WEIGHTS = Path("unet/diffusion_pytorch_model.safetensors")


def rewrite_tensors(file: Path, edit) -> None:
    tensors = load_file(file)
    edit(tensors)
    save_file(tensors, file)


def load(folder: Path, **kwargs) -> LocalEngine:
    return load_model(str(folder), device="cpu", **kwargs)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"no checkpoint folder at .*nothing-here"):
        load(tmp_path / "nothing-here")


def test_folder_without_model_index(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"is not a checkpoint folder: it has no model_index.json"):
        load(tmp_path)


def test_a_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(EngineError, match=r"is a file"):
        load(tmp_path / "model.safetensors")


def test_missing_tensor_is_named(checkpoint_copy: Path) -> None:
    rewrite_tensors(checkpoint_copy / UNET_WEIGHTS, lambda t: t.pop("conv_in.weight"))
    with pytest.raises(
        EngineError, match=r"diffusion_pytorch_model.safetensors: tensor 'conv_in.weight' is missing"
    ):
        load(checkpoint_copy)


def test_unexpected_tensor_is_named(checkpoint_copy: Path) -> None:
    rewrite_tensors(checkpoint_copy / UNET_WEIGHTS, lambda t: t.update({"extra.weight": torch.zeros(2)}))
    with pytest.raises(EngineError, match=r"unexpected tensor 'extra.weight'"):
        load(checkpoint_copy)


def test_shape_mismatch_is_named(checkpoint_copy: Path) -> None:
    rewrite_tensors(
        checkpoint_copy / "vae/diffusion_pytorch_model.safetensors",
        lambda t: t.update({"quant_conv.weight": torch.zeros(6, 8, 1, 1)}),
    )
    with pytest.raises(
        EngineError,
        match=r"tensor 'quant_conv.weight' has shape \(6, 8, 1, 1\), its config implies "
        r"\(8, 8, 1, 1\)",
    ):
        load(checkpoint_copy)


def test_config_that_disagrees_with_the_weights(checkpoint_copy: Path) -> None:
    config_file = checkpoint_copy / "vocoder/config.json"
    config = json.loads(config_file.read_text())
    config["upsample_initial_channel"] = 64
    config_file.write_text(json.dumps(config))
    with pytest.raises(EngineError, match=r"tensor 'conv_pre.weight' has shape .* its config implies"):
        load(checkpoint_copy)


def test_unsupported_architecture_option_is_named(checkpoint_copy: Path) -> None:
    config_file = checkpoint_copy / "unet/config.json"
    config = json.loads(config_file.read_text())
    config["use_linear_projection"] = True
    config_file.write_text(json.dumps(config))
    with pytest.raises(EngineError, match=r"unet/config.json: use_linear_projection=True is not supported"):
        load(checkpoint_copy)


def test_truncated_weight_file(checkpoint_copy: Path) -> None:
    weights = checkpoint_copy / UNET_WEIGHTS
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(EngineError, match=r"cannot read .*diffusion_pytorch_model.safetensors"):
        load(checkpoint_copy)


def test_text_encoder_with_a_missing_tensor(checkpoint_copy: Path) -> None:
    weights = checkpoint_copy / "text_encoder/model.safetensors"
    rewrite_tensors(
        weights, lambda t: t.pop(next(k for k in t if k.endswith("text_projection.linear1.weight")))
    )
    with pytest.raises(EngineError, match=r"text_encoder: missing keys: .*text_projection.linear1.weight"):
        load(checkpoint_copy)


def test_pickle_weights_need_an_explicit_opt_in(checkpoint_copy: Path, engine_model) -> None:
    weights = checkpoint_copy / UNET_WEIGHTS
    torch.save(load_file(weights), weights.with_suffix(".bin"))
    weights.unlink()
    with pytest.raises(EngineError, match=r"is a pickle file .* pass --allow-pickle"):
        load(checkpoint_copy)
    model = load(checkpoint_copy, allow_pickle=True)
    request = GenerationRequest("wind", duration_s=0.3, steps=2, seed=8)
    assert np.array_equal(model.generate(request)[0].audio, engine_model.generate(request)[0].audio)


def test_a_folder_labelled_with_the_other_family_is_refused_clearly(checkpoint_copy: Path) -> None:
    """An AudioLDM folder whose model_index.json names AudioLDM2Pipeline is read as AudioLDM 2 (the index
    decides the family), and refused for what that family lacks."""
    index_file = checkpoint_copy / "model_index.json"
    index = json.loads(index_file.read_text())
    index["_class_name"] = "AudioLDM2Pipeline"
    index_file.write_text(json.dumps(index))
    with pytest.raises(EngineError, match=r"language_model/ is missing \(AudioLDM 2 needs its GPT-2\)"):
        load(checkpoint_copy)


def test_hub_id_resolves_from_the_cache_without_network(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    snapshot = put_in_hub_cache(tiny_checkpoint, tmp_path / "hub", "cvssp/audioldm-s-full-v2")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert resolve_checkpoint("cvssp/audioldm-s-full-v2") == snapshot
    summary = inspect_checkpoint("cvssp/audioldm-s-full-v2")
    assert summary.family == "audioldm" and summary.sample_rate == 16000


def test_hub_id_that_cannot_be_downloaded_says_how_to_use_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(
        EngineError,
        match=r"could not download 'soundloom-tests/no-such-model'.*"
        r"\(`hf download soundloom-tests/no-such-model`\) and pass its folder: --model /path/to/folder",
    ):
        resolve_checkpoint("soundloom-tests/no-such-model")


def test_inspect_counts_parameters_from_headers(tiny_checkpoint: Path, engine_model) -> None:
    summary = inspect_checkpoint(str(tiny_checkpoint))
    counts = {component.name: component.parameters for component in summary.components}
    codec = engine_model.model.codec
    assert counts["unet"] == sum(p.numel() for p in engine_model.model.denoiser.unet.parameters())
    assert counts["vae"] == sum(p.numel() for p in codec.vae.parameters())
    assert counts["vocoder"] == sum(t.numel() for t in codec.vocoder.state_dict().values())
    assert counts["scheduler"] == 0 and counts["text_encoder"] > 0
