"""How a job's takes are delivered: its JobSpec's effect preset, export settings and naming as the
`Delivery` the deliverer (host_bridge/delivery/deliver.py) renders, names and writes with. What a spec
leaves out takes the Delivery's and ExportSettings' own defaults, so they are written in one place."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...presets import ExportSettings, PresetLibrary
from ...presets.render import NO_CHAIN
from ..delivery.deliver import Delivery
from .spec import JobSpec

DEFAULT_EXPORT = ExportSettings()
NO_EFFECTS = "none"  # an fx that asks for no chain (a prompt preset's suggested one included)


def delivery_for(
    spec: JobSpec,
    library: PresetLibrary,
    name_pattern: str,
    length_s: float | None = None,
    base: ExportSettings = DEFAULT_EXPORT,
) -> Delivery:
    """The Delivery `spec` asks for; `name_pattern` unless the spec names its own, `length_s` the exact
    length bars and beats ask for. What the spec leaves out comes from `base` (`fx apply`: the take's own
    export settings). PresetError when the effect preset is unknown or broken."""
    fx = spec.fx or NO_EFFECTS
    chain = NO_CHAIN if fx == NO_EFFECTS else library.effect(fx)
    if spec.loudness is not None or spec.peak is not None:  # a level given replaces the base's, either kind
        base = replace(base, loudness_lufs=None, peak_dbtp=None)
    export = replace(
        base,
        **_given(
            sample_rate=spec.rate,
            channels=spec.channels,
            stereo_mode=spec.stereo_mode,
            loudness_lufs=spec.loudness,
            peak_dbtp=spec.peak,
            ceiling_dbtp=spec.ceiling_dbtp,
            fade_in_s=spec.fade_in_s,
            fade_out_s=spec.fade_out_s,
            bit_depth=spec.bit_depth,
            length_s=length_s,
        ),
    )
    return Delivery(
        chain,
        export,
        spec.name_pattern or name_pattern,
        **_given(catid=spec.catid, creator=spec.creator, source=spec.source, keep_dry=spec.keep_dry),
    )


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
