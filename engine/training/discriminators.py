"""HiFi-GAN's discriminators (multi-period and multi-scale) and its least-squares GAN losses.

Only training uses them; a checkpoint ships the generator alone. `width` scales every layer, so a
2-core CPU can afford them (HiFi-GAN V1 is width 32 for the period discriminators' first layer).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SLOPE = 0.1


def _score(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run a conv stack: (flattened scores, every layer's activations for feature matching)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """Sees the waveform folded into `period` columns: (B, samples) -> (B, 1, samples / period, period)."""

    def __init__(self, period: int, width: int):
        super().__init__()
        self.period = period
        widths = [1, width, width * 4, width * 16, width * 32]
        self.convs = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], (5, 1), (3, 1), padding=(2, 0)) for i in range(4)
        )
        self.convs.append(nn.Conv2d(widths[-1], widths[-1], (5, 1), padding=(2, 0)))
        self.post = nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        pad = (-wave.shape[-1]) % self.period
        x = F.pad(wave, (0, pad), mode="reflect").view(wave.shape[0], 1, -1, self.period)
        return _score(self.convs, self.post, x)


class ScaleDiscriminator(nn.Module):
    """Grouped strided 1-D convs over the waveform at one resolution."""

    def __init__(self, width: int):
        super().__init__()
        w = width
        shapes = [  # (in, out, kernel, stride, groups)
            (1, w, 15, 1, 1),
            (w, w * 4, 41, 4, 4),
            (w * 4, w * 16, 41, 4, 16),
            (w * 16, w * 32, 41, 4, 16),
            (w * 32, w * 32, 5, 1, 1),
        ]
        self.convs = nn.ModuleList(
            nn.Conv1d(i, o, k, s, groups=min(g, i), padding=(k - 1) // 2) for i, o, k, s, g in shapes
        )
        self.post = nn.Conv1d(w * 32, 1, 3, padding=1)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _score(self.convs, self.post, wave.unsqueeze(1))


class Discriminators(nn.Module):
    """Periods 2, 3, 5, 7, 11 and scales 1, 1/2, 1/4, as HiFi-GAN."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.periods = nn.ModuleList(PeriodDiscriminator(p, width) for p in (2, 3, 5, 7, 11))
        self.scales = nn.ModuleList(ScaleDiscriminator(width) for _ in range(3))

    def forward(self, wave: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        outputs = [discriminator(wave) for discriminator in self.periods]
        for i, discriminator in enumerate(self.scales):
            scaled = wave if i == 0 else F.avg_pool1d(wave.unsqueeze(1), 2**i, 2**i).squeeze(1)
            outputs.append(discriminator(scaled))
        return outputs


def discriminator_loss(real: list, fake: list) -> torch.Tensor:
    return sum(((1 - r) ** 2).mean() + (f**2).mean() for (r, _), (f, _) in zip(real, fake, strict=True))


def generator_adversarial_loss(fake: list) -> torch.Tensor:
    return sum(((1 - f) ** 2).mean() for f, _ in fake)


def feature_matching_loss(real: list, fake: list) -> torch.Tensor:
    return sum(
        (r.detach() - f).abs().mean()
        for (_, real_features), (_, fake_features) in zip(real, fake, strict=True)
        for r, f in zip(real_features, fake_features, strict=True)
    )
