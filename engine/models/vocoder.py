"""HiFi-GAN vocoder, SpeechT5HifiGan layout as AudioLDM publishes it: log-mel (B, frames, mels) -> audio."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .config import config_from_dict
from .fft_conv import fft_conv1d, pays_on, worth_it

CHUNK_FRAMES = 1024  # longer mels (over 10.24 s at 16 kHz) are vocoded in chunks: bounded memory
CONTEXT_FRAMES = 32  # real neighbours each side of a chunk; beyond the ~22-frame receptive field
# Whether this CPU gets the FFT convolution at all (fft_conv.pays_on); read once, tests set it.
FFT_ON_THIS_CPU = pays_on(torch.backends.cpu.get_cpu_capability())


@dataclass
class VocoderConfig:
    model_in_dim: int = 64
    sampling_rate: int = 16000
    upsample_initial_channel: int = 1024
    upsample_rates: list[int] = field(default_factory=lambda: [5, 4, 2, 2, 2])
    upsample_kernel_sizes: list[int] = field(default_factory=lambda: [16, 16, 8, 4, 4])
    resblock_kernel_sizes: list[int] = field(default_factory=lambda: [3, 7, 11])
    resblock_dilation_sizes: list[list[int]] = field(default_factory=lambda: [[1, 3, 5]] * 3)
    leaky_relu_slope: float = 0.1
    normalize_before: bool = False

    @property
    def hop_length(self) -> int:
        """Waveform samples per mel frame."""
        hop = 1
        for rate in self.upsample_rates:
            hop *= rate
        return hop

    @classmethod
    def from_dict(cls, raw: dict, source: str = "vocoder/config.json") -> VocoderConfig:
        return config_from_dict(cls, raw, source)


class ResidualBlock(nn.Module):
    """Dilated convs at one kernel size; each pair adds back its input."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int], slope: float):
        super().__init__()
        self.slope = slope
        self.convs1 = nn.ModuleList(
            [
                nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=(kernel_size * d - d) // 2)
                for d in dilations
            ]
        )
        self.convs2 = nn.ModuleList(
            [nn.Conv1d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2) for _ in dilations]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2, strict=True):
            x = x + run_conv(conv2, F.leaky_relu(run_conv(conv1, F.leaky_relu(x, self.slope)), self.slope))
        return x


def run_conv(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """`conv(x)`, through the FFT where that measured faster: float32 inference on a CPU without AVX-512,
    long kernels. Training (gradients on) and other devices and dtypes take the direct convolution."""
    kernel, dilation = conv.kernel_size[0], conv.dilation[0]
    if (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and FFT_ON_THIS_CPU
        and worth_it(conv.in_channels, kernel, dilation)
    ):
        return fft_conv1d(x, conv.weight, conv.bias, dilation)
    return conv(x)


class HifiGan(nn.Module):
    def __init__(self, config: VocoderConfig):
        super().__init__()
        self.config = c = config
        self.conv_pre = nn.Conv1d(c.model_in_dim, c.upsample_initial_channel, 7, padding=3)
        self.upsampler = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(c.upsample_rates, c.upsample_kernel_sizes, strict=True)):
            channels = c.upsample_initial_channel // 2 ** (i + 1)
            self.upsampler.append(
                nn.ConvTranspose1d(channels * 2, channels, kernel, stride=rate, padding=(kernel - rate) // 2)
            )
            for size, dilations in zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes, strict=True):
                self.resblocks.append(ResidualBlock(channels, size, dilations, c.leaky_relu_slope))
        self.conv_post = nn.Conv1d(channels, 1, 7, padding=3)
        self.register_buffer("mean", torch.zeros(c.model_in_dim))
        self.register_buffer("scale", torch.ones(c.model_in_dim))

    def vocode(
        self, mel: torch.Tensor, chunk_frames: int = CHUNK_FRAMES, context_frames: int = CONTEXT_FRAMES
    ) -> torch.Tensor:
        """`forward` for a mel of any length, in chunks of `chunk_frames` with `context_frames` of real
        neighbours each side, so memory stays bounded for a long clip. The network has no normalisation
        and a finite receptive field (about 22 frames each way for the published kernels), and it is
        shift-equivariant by hop_length samples per frame, so each chunk's middle is the whole mel's."""
        frames, hop = mel.shape[1], self.config.hop_length
        if frames <= chunk_frames:
            return self(mel)
        pieces = []
        for start in range(0, frames, chunk_frames):
            end = min(start + chunk_frames, frames)
            left, right = min(context_frames, start), min(context_frames, frames - end)
            out = self(mel[:, start - left : end + right])  # (B, samples of the chunk with its context)
            stop = (left + end - start) * hop if right else None  # the last chunk keeps its overhang
            pieces.append(out[:, left * hop : stop])
        return torch.cat(pieces, dim=1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, frames, mel_bins) -> (B, samples); samples >= frames * hop_length (kernel overhang)."""
        if self.config.normalize_before:
            mel = (mel - self.mean) / self.scale
        x = self.conv_pre(mel.transpose(1, 2))  # (B, C, frames)
        kernels = len(self.config.resblock_kernel_sizes)
        for i, upsample in enumerate(self.upsampler):
            x = upsample(F.leaky_relu(x, self.config.leaky_relu_slope))  # (B, C / 2, frames * rate)
            x = sum(self.resblocks[i * kernels + j](x) for j in range(kernels)) / kernels
        # The last activation uses PyTorch's default slope (0.01), as the published vocoder does.
        x = self.conv_post(F.leaky_relu(x))
        return torch.tanh(x).squeeze(1)
