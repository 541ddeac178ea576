"""A 1-D convolution through the FFT (overlap-save): the same result as `F.conv1d` with "same" padding,
at a cost that does not grow with the kernel's length or dilation.

Why: HiFi-GAN's residual blocks run kernels of 3, 7 and 11 taps at dilations 1, 3 and 5. On a CPU the
direct convolution already runs near the BLAS's peak, so the only way to make the long kernels faster is
to do less arithmetic. Direct: 2·C²·K flops per output sample; here: about 8·C²·(N/2+1)/(N-Kₑ+1) for
blocks of N samples and an effective kernel Kₑ = (K-1)·d+1, whatever K and d are. Measured on 2 AVX2
cores (python3 -m benchmarks.vocoder_fft): 1.7 to 2.7x faster for 11 taps, 1.2 to 1.35x for 7 taps
on 128 to 256 channels, a loss for 3 taps, so `worth_it` keeps the FFT to those; the whole published
vocoder then runs 1.3x faster. Errors are float32 rounding (about 1e-6 of the peak). On an AVX-512 CPU
(measured on 2 cores of an AMD EPYC with AVX-512, 2026-12-05) oneDNN's direct convolution is fast enough
that the same choice made the whole vocoder 0.89x as fast (6.01 s against 5.35 s), so `pays_on` keeps
the FFT to CPUs without AVX-512.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def block_size(kernel: int, dilation: int) -> int:
    """FFT length N: the smallest power of two at least 4x the effective kernel, 64 at the least."""
    effective = (kernel - 1) * dilation + 1
    return max(64, 1 << (4 * effective - 1).bit_length())


def pays_on(cpu_capability: str) -> bool:
    """Whether the FFT is used at all on a CPU of this capability (torch.backends.cpu.get_cpu_capability:
    "AVX512", "AVX2", "DEFAULT", ...): not where AVX-512's direct convolution measured faster."""
    return not cpu_capability.startswith("AVX512")


def worth_it(channels: int, kernel: int, dilation: int) -> bool:
    """Where the FFT measured faster than the direct convolution on the CPU (see the module's docstring):
    11 taps (not dilated ones on the widest, 512-channel stage), and 7 taps on 128 to 256 channels."""
    if kernel >= 11:
        return channels <= 256 or dilation == 1
    return kernel == 7 and 128 <= channels <= 256


def fft_conv1d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int
) -> torch.Tensor:
    """(B, C, L) * (O, C, K) -> (B, O, L): `F.conv1d(x, weight, bias, dilation=d, padding=(K-1)*d//2)`
    for an odd K (cross-correlation, as PyTorch's convolution is)."""
    batch, channels, length = x.shape
    out_channels, _, kernel = weight.shape
    effective = (kernel - 1) * dilation + 1
    n = block_size(kernel, dilation)
    hop = n - effective + 1  # valid outputs per block: the rest wrapped around
    blocks = -(-length // hop)
    pad = (effective - 1) // 2
    padded = F.pad(x, (pad, blocks * hop + effective - 1 - length - pad))
    spectrum = torch.fft.rfft(padded.unfold(2, n, hop), n=n)  # (B, C, blocks, n/2+1)
    taps = weight.new_zeros(out_channels, channels, n)
    taps[:, :, :effective:dilation] = weight  # the dilated kernel, zeros between its taps
    # Correlation is convolution with the kernel reversed: in frequency, its spectrum's conjugate.
    kernel_spectrum = torch.fft.rfft(taps).conj().permute(2, 0, 1)  # (n/2+1, O, C)
    bins = kernel_spectrum.shape[0]
    columns = spectrum.permute(3, 1, 0, 2).reshape(bins, channels, batch * blocks)  # (bins, C, B·blocks)
    mixed = torch.bmm(kernel_spectrum, columns)  # one complex matrix product per frequency bin
    mixed = mixed.reshape(bins, out_channels, batch, blocks).permute(2, 1, 3, 0)  # (B, O, blocks, bins)
    out = torch.fft.irfft(mixed, n=n)[..., :hop].reshape(batch, out_channels, blocks * hop)[..., :length]
    return out if bias is None else out + bias[None, :, None]
