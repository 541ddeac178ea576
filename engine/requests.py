"""Plain request and result objects: what crosses from the bridge, CLI or GUI into the engine and back.

No torch here, so callers that must not import torch (the GUI) can build requests and read results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .clip import Clip
from .licence import Licence
from .limits import (
    DURATION_S,
    EDIT_OPERATIONS,
    ETA,
    EXTEND_S,
    FADE_S,
    GUIDANCE_SCALE,
    MAX_DURATION_S,
    SAMPLER,
    SEED,
    STEPS,
    STRENGTH,
    VARIATIONS,
)
from .samplers import SAMPLERS


@dataclass(frozen=True)
class GenerationRequest:
    """Text to audio. `duration_s` None means the checkpoint's native length; `seed` None picks one."""

    prompt: str
    negative_prompt: str = ""
    duration_s: float | None = None
    steps: int = STEPS.default
    guidance_scale: float = GUIDANCE_SCALE.default
    seed: int | None = None
    sampler: str = SAMPLER.default
    variations: int = VARIATIONS.default
    eta: float = ETA.default  # DDIM only: 0 deterministic, 1 ancestral
    loop: bool = False  # seamless at the wrap point, exactly `duration_s` long
    rerank: bool = False  # order the variations by CLAP text-audio similarity, best first
    transcript: str = ""  # speech checkpoints only: the words; the prompt describes voice and setting

    def problems(self) -> list[str]:
        """Every reason this request cannot run, as user-facing sentences (empty when it is valid)."""
        found = [] if isinstance(self.prompt, str) and self.prompt.strip() else ["the prompt is empty"]
        return found + self.sampling_problems()

    def sampling_problems(self) -> list[str]:
        """The problems of everything but the prompt (edits that need no prompt check these)."""
        limits = [STEPS, GUIDANCE_SCALE, SAMPLER, VARIATIONS, ETA]
        limits += [DURATION_S] if self.duration_s is not None else []
        limits += [SEED] if self.seed is not None else []
        found = [p for limit in limits if (p := limit.problem(getattr(self, limit.field))) is not None]
        ancestral = [name for name, entry in SAMPLERS.items() if entry.takes_eta]
        if (
            self.eta
            and not ETA.problem(self.eta)
            and self.sampler in SAMPLERS
            and self.sampler not in ancestral
        ):
            found.append(f"eta applies to the {' and '.join(ancestral)} sampler only, not {self.sampler}")
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
    strength: float = STRENGTH.default
    start_s: float | None = None
    end_s: float | None = None
    fade_s: float = FADE_S.default  # equal-power crossfade each side of an inpainted region
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
        if self.operation == "transfer" and (problem := STRENGTH.problem(self.strength)):
            found.append(problem)
        if self.operation == "inpaint":
            found += self._region_problems()
        if self.operation == "extend":
            if self.extend_s is None:
                found.append(f"extend needs a length: between {EXTEND_S.span()}")
            elif problem := EXTEND_S.problem(self.extend_s):
                found.append(problem)
        if generation.rerank and self.operation == "vary":
            found.append("re-ranking scores a prompt, and variations have none")
        if generation.loop and self.operation in ("inpaint", "extend"):
            found.append(f"loop applies to generate, transfer and vary, not {self.operation}")
        if problem := FADE_S.problem(self.fade_s):
            found.append(problem)
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
    licence: Licence  # what the checkpoint's model card says; carried into the take's file
    score: float | None = None

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate
