"""A loaded model: its four parts (engine/parts/) and what it is (id, device, dtype, licence).

Plain data that every operation reads: `generation.py`, `editing.py` and `reranking.py` are functions of
a `DiffusionModel`, so no family carries its own copy of them. `LocalEngine` (local_engine.py) serves a
DiffusionModel to the bridge, the CLI and the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .licence import Licence
from .parts import Parts
from .parts.codec import MelCodec
from .parts.conditioner import Conditioner
from .parts.denoiser import UNetDenoiser
from .parts.schedule import NoiseSchedule


@dataclass
class DiffusionModel:
    parts: Parts
    model_id: str
    device: torch.device
    dtype: torch.dtype
    licence: Licence = field(default_factory=Licence)  # from the checkpoint's model card (licence.py)

    @property
    def codec(self) -> MelCodec:
        return self.parts.codec

    @property
    def conditioner(self) -> Conditioner:
        return self.parts.conditioner

    @property
    def denoiser(self) -> UNetDenoiser:
        return self.parts.denoiser

    @property
    def schedule(self) -> NoiseSchedule:
        return self.parts.schedule

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    @property
    def native_duration_s(self) -> float:
        """The length the denoiser was trained on (5.12 s for the published checkpoints)."""
        return self.codec.duration_s(self.denoiser.native_latent_frames)

    def initial_noise(
        self, seed: int, batch: int, latent_frames: int
    ) -> tuple[torch.Tensor, torch.Generator]:
        """(batch, C, latent_frames, F) standard normal noise from the seed, and the seed's generator.

        Drawn on the CPU in the model dtype, as diffusers' randn_tensor does: same seed, same sound. The
        generator goes on to DDIM's eta > 0 noise, as in diffusers.
        """
        generator = torch.Generator("cpu").manual_seed(seed)
        shape = self.codec.latent_shape(batch, latent_frames)
        return torch.randn(shape, generator=generator, dtype=self.dtype).to(self.device), generator
