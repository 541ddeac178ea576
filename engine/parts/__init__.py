"""A model is four parts, and every operation (generate, the edits, re-ranking) is written once over them:

- codec (`codec.py`): seconds <-> frames, audio <-> latent, cheap previews;
- conditioner (`conditioner.py` and one file per family's kind): prompts or a clip -> the condition;
- denoiser (`denoiser.py`): the network and how it is called with a condition;
- schedule (`schedule.py`): the training noise schedule and the timesteps samplers visit.

A family (`engine/families/`) reads a checkpoint into these parts; it never subclasses another family.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codec import MelCodec
from .conditioner import Conditioner
from .denoiser import UNetDenoiser
from .schedule import NoiseSchedule


@dataclass
class Parts:
    codec: MelCodec
    conditioner: Conditioner
    denoiser: UNetDenoiser
    schedule: NoiseSchedule

    def modules(self) -> list:
        """Every network that holds weights (for counting them), each once."""
        found = [*self.codec.modules(), *self.denoiser.modules(), *self.conditioner.modules()]
        return list({id(module): module for module in found}.values())
