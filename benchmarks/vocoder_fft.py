"""The FFT convolution against the direct one, on the published HiFi-GAN's shapes (10.24 s clip), and the
whole vocoder both ways: the measurements behind `engine/models/fft_conv.py`'s `worth_it` and `pays_on`.

Run: python3 -m benchmarks.vocoder_fft [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from soundloom.engine.models import vocoder
from soundloom.engine.models.fft_conv import fft_conv1d, worth_it

from tests.helpers.reference_checkpoint import PUBLISHED_CONFIGS

ROOT = Path(__file__).resolve().parents[1]
# (channels, samples) of each stage of cvssp's vocoder for a 10.24 s clip (1024 mel frames).
STAGES = [(512, 5121), (256, 20484), (128, 40968), (64, 81936), (32, 163872)]


def best_of(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(x: torch.Tensor, kernel: int, dilation: int, repeats: int) -> str:
    """One table row: the direct and the FFT convolution of `x` (1, C, L) with a random C->C kernel."""
    channels = x.shape[1]
    weight = torch.randn(channels, channels, kernel) / (channels * kernel) ** 0.5
    bias = torch.randn(channels)
    pad = (kernel - 1) * dilation // 2
    expected = F.conv1d(x, weight, bias, dilation=dilation, padding=pad)
    error = (fft_conv1d(x, weight, bias, dilation) - expected).abs().max() / expected.abs().max()
    direct = best_of(lambda: F.conv1d(x, weight, bias, dilation=dilation, padding=pad), repeats)
    fft = best_of(lambda: fft_conv1d(x, weight, bias, dilation), repeats)
    used = "FFT" if worth_it(channels, kernel, dilation) else "direct"
    return (
        f"| {channels} | {kernel} | {dilation} | {direct:.3f} | {fft:.3f} | {direct / fft:.2f}x "
        f"| {error:.1e} | {used} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", type=Path, default=PUBLISHED_CONFIGS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print("| channels | kernel | dilation | direct s | FFT s | speed-up | max error / peak | used |")
    print("|---|---|---|---|---|---|---|---|")
    with torch.inference_mode():
        for channels, samples in STAGES:
            x = torch.randn(1, channels, samples)
            for kernel in (3, 7, 11):
                for dilation in (1, 5):
                    print(compare(x, kernel, dilation, args.repeats), flush=True)
        config = vocoder.VocoderConfig.from_dict(
            json.loads((args.reference / "audioldm.vocoder.json").read_text())
        )
        model = vocoder.HifiGan(config).eval()
        mel = torch.randn(1, 1024, 64)
        on_this_cpu = vocoder.FFT_ON_THIS_CPU
        vocoder.FFT_ON_THIS_CPU = True  # the shapes `worth_it` picks, whatever this CPU is
        fft_wave = model(mel)
        fft_s = best_of(lambda: model(mel), args.repeats)
        vocoder.FFT_ON_THIS_CPU = False  # every convolution direct
        direct_wave = model(mel)
        direct_s = best_of(lambda: model(mel), args.repeats)
        vocoder.FFT_ON_THIS_CPU = on_this_cpu
    error = ((fft_wave - direct_wave).abs().max() / direct_wave.abs().max()).item()
    print(
        f"\nwhole vocoder, 10.24 s: direct {direct_s:.2f} s, with the FFT where chosen {fft_s:.2f} s "
        f"({direct_s / fft_s:.2f}x), max error / peak {error:.1e}; this CPU "
        f"({torch.backends.cpu.get_cpu_capability()}) uses {'the FFT' if on_this_cpu else 'direct'}"
    )


if __name__ == "__main__":
    main()
