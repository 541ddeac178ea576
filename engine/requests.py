"""Plain request and result objects: what crosses from the bridge, CLI or GUI into the engine and back.

No torch here, so callers that must not import torch (the GUI) can build requests and read results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLERS = ("ddim", "dpm++")
MAX_DURATION_S = 60.0  # 6x AudioLDM's training length; beyond it quality falls apart and memory grows fast
MAX_VARIATIONS = 16
MAX_STEPS = 1000


@dataclass(frozen=True)
class GenerationRequest:
    """Text to audio. `duration_s` None means the checkpoint's native length; `seed` None picks one."""

    prompt: str
    negative_prompt: str = ""
    duration_s: float | None = None
    steps: int = 25
    guidance_scale: float = 2.5
    seed: int | None = None
    sampler: str = "dpm++"
    variations: int = 1
    eta: float = 0.0  # DDIM only: 0 deterministic, 1 ancestral

    def problems(self) -> list[str]:
        """Every reason this request cannot run, as user-facing sentences (empty when it is valid)."""
        found = []
        for name in ("steps", "variations") + (("seed",) if self.seed is not None else ()):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                return [f"{name} must be a whole number, got {value!r}"]
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            found.append("the prompt is empty")
        if self.duration_s is not None and not (0 < self.duration_s <= MAX_DURATION_S):
            found.append(
                f"duration must be above 0 and at most {MAX_DURATION_S:g} s, got {self.duration_s:g}"
            )
        if not 1 <= self.steps <= MAX_STEPS:
            found.append(f"steps must be between 1 and {MAX_STEPS}, got {self.steps}")
        if not self.guidance_scale >= 0:
            found.append(f"guidance must be 0 or more, got {self.guidance_scale:g}")
        if self.sampler not in SAMPLERS:
            found.append(f"unknown sampler {self.sampler!r} (choose from {', '.join(SAMPLERS)})")
        if not 1 <= self.variations <= MAX_VARIATIONS:
            found.append(f"variations must be between 1 and {MAX_VARIATIONS}, got {self.variations}")
        if not 0 <= self.eta <= 1:
            found.append(f"eta must be between 0 and 1, got {self.eta:g}")
        elif self.eta and self.sampler != "ddim":
            found.append(f"eta applies to the ddim sampler only, not {self.sampler}")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            found.append(f"seed must be between 0 and 2**63 - 1, got {self.seed}")
        return found


@dataclass
class GeneratedAudio:
    """One variation: mono float32 samples in [-1, 1] at `sample_rate`, and everything that made it."""

    audio: np.ndarray = field(repr=False)
    sample_rate: int
    request: GenerationRequest  # as run: seed and duration filled in
    variation: int  # 1-based, within the request
    model_id: str

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate
