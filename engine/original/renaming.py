"""Renaming a state dict by prefixes: the one mechanism every part's mapping uses."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ..errors import EngineError


def renamed(
    state: dict[str, torch.Tensor],
    prefixes: Iterable[tuple[str, str]],
    inner: dict[str, str] | None = None,
    source: str = "the checkpoint",
) -> dict[str, torch.Tensor]:
    """`state` with each key's longest matching old prefix replaced by its new one, then in the rest of
    the key one `inner` name, whole dot-separated segments only (a resnet's `in_layers.2` -> `conv1`).
    Every key must match a prefix: one that does not is an EngineError naming it (a checkpoint of another
    shape, or a part we lack)."""
    pairs = sorted(prefixes, key=lambda pair: len(pair[0]), reverse=True)
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        for old, new in pairs:
            if key == old or key.startswith(old + "."):
                rest = key[len(old) :]  # "" or ".a.b.weight"
                for inner_old, inner_new in (inner or {}).items():
                    if f".{inner_old}." in rest + ".":
                        rest = (rest + ".").replace(f".{inner_old}.", f".{inner_new}.", 1)[:-1]
                        break
                out[new + rest] = tensor
                break
        else:
            raise EngineError(f"{source}: unexpected tensor {key!r} (no part of this model holds it)")
    return out


def under(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose key starts with `prefix` + '.', with that prefix taken off."""
    start = prefix + "."
    return {key[len(start) :]: tensor for key, tensor in state.items() if key.startswith(start)}
