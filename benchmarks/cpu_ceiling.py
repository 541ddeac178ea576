"""How close each stage of a generation runs to this CPU's float32 ceiling: a large matrix product's
GFLOP/s against the UNet step's, the VAE decode's and the vocoder's (FLOPs counted by PyTorch's
FlopCounterMode), on the full-size AudioLDM-S architecture for a 10.24 s clip.

It says how much any float32 kernel work could still buy: a stage at 95% of the matrix product's rate
can get at most 1.05x faster by computing the same arithmetic better; only less arithmetic (the
vocoder's FFT convolution) or cheaper arithmetic (native bfloat16) goes further.

Run: python3 -m benchmarks.cpu_ceiling [--threads 2] [--checkpoint bench-out/audioldm-s-random]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from soundloom.engine.loader import load_model
from torch.utils.flop_counter import FlopCounterMode

from tests.helpers.reference_checkpoint import PUBLISHED_CONFIGS, build_checkpoint, published_configs

ROOT = Path(__file__).resolve().parents[1]


def rate(run, repeats: int = 2) -> tuple[float, float]:
    """(GFLOP, seconds) of one call: FLOPs counted once, the best time of `repeats` after a warm-up."""
    with FlopCounterMode(display=False) as counter:
        run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return counter.get_total_flops() / 1e9, best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "bench-out" / "audioldm-s-random")
    parser.add_argument("--reference", type=Path, default=PUBLISHED_CONFIGS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.checkpoint / "model_index.json").exists():
        build_checkpoint(args.checkpoint, **published_configs(args.reference))
    model = load_model(str(args.checkpoint), device="cpu").model
    unet, vae, vocoder = model.denoiser.unet, model.codec.vae, model.codec.vocoder
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    latent = torch.randn(2, 8, 256, 16).to(memory_format=torch.channels_last)
    condition = torch.nn.functional.normalize(torch.randn(2, 512), dim=-1)
    stages = {
        "matrix product 2048^3 (the ceiling)": lambda: a @ b,
        "UNet step, batch 2": lambda: unet(latent, torch.tensor(500), class_condition=condition),
        "VAE decode": lambda: vae.decode(torch.randn(1, 8, 256, 16)),
        "vocoder (FFT where chosen)": lambda: vocoder(torch.randn(1, 1024, 64)),
    }
    print(f"{args.threads} threads, torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}")
    print("| stage | GFLOP | seconds | GFLOP/s | of the ceiling |\n|---|---|---|---|---|")
    ceiling = None
    with torch.inference_mode():
        for name, run in stages.items():
            flops, seconds = rate(run)
            ceiling = ceiling or flops / seconds
            share = flops / seconds / ceiling
            print(
                f"| {name} | {flops:.0f} | {seconds:.2f} | {flops / seconds:.1f} | {share:.0%} |", flush=True
            )


if __name__ == "__main__":
    main()
