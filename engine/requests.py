"""Plain request and result objects: what crosses from the bridge, CLI or GUI into the engine and back.

No torch here, so callers that must not import torch (the GUI) can build requests and read results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .clip import Clip

SAMPLERS = ("ddim", "dpm++")
MAX_DURATION_S = 60.0  # 6x AudioLDM's training length; beyond it quality falls apart and memory grows fast
MAX_VARIATIONS = 16
MAX_STEPS = 1000
EDIT_OPERATIONS = ("transfer", "inpaint", "extend", "vary")
DEFAULT_FADE_S = 0.02


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
    loop: bool = False  # seamless at the wrap point, exactly `duration_s` long
    rerank: bool = False  # order the variations by CLAP text-audio similarity, best first
    transcript: str = ""  # speech checkpoints only: the words; the prompt describes voice and setting

    def problems(self) -> list[str]:
        """Every reason this request cannot run, as user-facing sentences (empty when it is valid)."""
        found = [] if isinstance(self.prompt, str) and self.prompt.strip() else ["the prompt is empty"]
        return found + self.sampling_problems()

    def sampling_problems(self) -> list[str]:
        """The problems of everything but the prompt (edits that need no prompt check these)."""
        found = []
        for name in ("steps", "variations") + (("seed",) if self.seed is not None else ()):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                return [f"{name} must be a whole number, got {value!r}"]
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


@dataclass(frozen=True)
class EditRequest:
    """An operation on a user's clip; `generation` holds the prompt and the sampling options.

    transfer: re-imagine the clip from `strength` of the way through the schedule (0 = the clip's own
    round trip, 1 = a fresh generation). inpaint: regenerate [start_s, end_s). extend: continue the clip
    by `extend_s` seconds. vary: new clips conditioned on the clip's CLAP audio embedding (no prompt).
    The result has the clip's sample rate and channels; its length is the clip's (extend: plus extend_s).
    """

    operation: str
    clip: Clip
    generation: GenerationRequest  # its duration_s must be None: the clip sets the length
    strength: float = 0.5
    start_s: float | None = None
    end_s: float | None = None
    fade_s: float = DEFAULT_FADE_S  # equal-power crossfade each side of an inpainted region
    extend_s: float | None = None

    def problems(self) -> list[str]:
        if self.operation not in EDIT_OPERATIONS:
            return [f"unknown operation {self.operation!r} (choose from {', '.join(EDIT_OPERATIONS)})"]
        generation = self.generation
        found = generation.problems() if self.operation != "vary" else generation.sampling_problems()
        if generation.duration_s is not None:
            found.append("the clip sets the duration; leave duration_s unset")
        if self.clip.frames == 0:
            found.append("the clip is empty")
        if self.clip.duration_s > MAX_DURATION_S and self.operation != "extend":  # extend: a tail window
            found.append(f"the clip is {self.clip.duration_s:.2f} s; the limit is {MAX_DURATION_S:g} s")
        if self.operation == "transfer" and not 0 <= self.strength <= 1:
            found.append(f"strength must be between 0 and 1, got {self.strength:g}")
        if self.operation == "inpaint":
            found += self._region_problems()
        if self.operation == "extend" and not (
            self.extend_s is not None and 0 < self.extend_s <= MAX_DURATION_S / 2
        ):
            found.append(f"extend by more than 0 and at most {MAX_DURATION_S / 2:g} s, got {self.extend_s}")
        if generation.rerank and self.operation == "vary":
            found.append("re-ranking scores a prompt, and variations have none")
        if generation.loop and self.operation in ("inpaint", "extend"):
            found.append(f"loop applies to generate, transfer and vary, not {self.operation}")
        if not 0 <= self.fade_s <= 1:
            found.append(f"the crossfade must be between 0 and 1 s, got {self.fade_s:g}")
        return found

    def _region_problems(self) -> list[str]:
        if self.start_s is None or self.end_s is None:
            return ["inpainting needs a region: start and end in seconds"]
        if not 0 <= self.start_s < self.end_s <= self.clip.duration_s:
            return [
                f"the region {self.start_s:g}-{self.end_s:g} s must be non-empty and inside the clip "
                f"(0-{self.clip.duration_s:.3f} s)"
            ]
        return []


@dataclass
class GeneratedAudio:
    """One variation and everything that made it.

    Generations are mono (samples,) float32 at the model's rate; edits are (frames, channels) at the
    clip's rate. `score` is the CLAP text-audio cosine similarity when the request asked to rerank.
    """

    audio: np.ndarray = field(repr=False)
    sample_rate: int
    request: GenerationRequest | EditRequest  # as run: seed (and duration) filled in
    variation: int  # 1-based candidate number within the request (re-ranking reorders, never renumbers)
    model_id: str
    score: float | None = None

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate
