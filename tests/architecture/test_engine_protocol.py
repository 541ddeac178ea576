"""Everything that serves as the engine keeps `engine/api.py`'s `Engine` protocol: the same methods with
the same parameters, so the runner, the batch worker and the CLI can take either, and a change to one
that the others miss fails here rather than in a job."""

from __future__ import annotations

import inspect

import pytest
from soundloom.engine.api import Engine
from soundloom.engine.local_engine import LocalEngine
from soundloom.host_bridge.cluster.engine_pool import EnginePool

METHODS = ("generate", "edit", "status")


def parameters(function: object) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("implementation", [LocalEngine, EnginePool], ids=lambda c: c.__name__)
def test_each_engine_has_the_protocols_methods_and_parameters(implementation: type) -> None:
    for method in METHODS:
        assert parameters(getattr(implementation, method)) == parameters(getattr(Engine, method)), method
    # sample_rate and licence: a property on the local engine, plain attributes on the pool
    assert {"sample_rate", "licence"} <= set(Engine.__annotations__)


def test_the_check_catches_a_drifted_signature() -> None:
    class Drifted:
        def generate(self, request, progress=None, cancel=None):  # the preview sink is missing
            return []

    assert parameters(Drifted.generate) != parameters(Engine.generate)
