"""How long the built-in default model takes to make a 5 s clip on this machine's CPU.

    python3 benchmarks/bench_default_model.py [--threads 2] [--steps 25] [--repeats 5]

Reports the median wall time of `generate` (text encoding, sampling with classifier-free guidance,
VAE decoding, vocoder) for a 5 s clip, after one warm-up run; model loading is reported apart.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from soundloom.engine import GenerationRequest
from soundloom.engine.default_model import resolve_model
from soundloom.engine.pipeline import AudioLDM


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model = AudioLDM.load(resolve_model("default"), device="cpu")
    load_s = time.perf_counter() - started
    request = GenerationRequest(prompt="a metal door slamming", duration_s=5.0, steps=args.steps, seed=0)
    model.generate(request)  # warm-up
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        model.generate(request)
        times.append(time.perf_counter() - started)
    print(f"threads {args.threads}, {args.steps} DPM++ steps, guidance {request.guidance_scale}, 5.0 s clip")
    print(
        f"load {load_s:.2f} s; generate median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {args.repeats} runs)"
    )


if __name__ == "__main__":
    main()
