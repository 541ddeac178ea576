"""How long the built-in default model takes to make a 5 s clip, and to edit one, on this machine's CPU.

    python3 -m benchmarks.bench_default_model [--threads 2] [--steps 25] [--repeats 5]

Reports the median wall time of `generate` (text encoding, sampling with classifier-free guidance,
VAE decoding, vocoder) for a 5 s clip, after one warm-up run; model loading is reported apart. Then the
same for the editing operations on a 5 s stereo 48 kHz clip (resampling both ways included), and for a
5 s loop.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from soundloom.engine import Clip, EditRequest, GenerationRequest
from soundloom.engine.default_model import resolve_model
from soundloom.engine.loader import load_model


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
    model = load_model(resolve_model("default"), device="cpu")
    load_s = time.perf_counter() - started
    request = GenerationRequest(prompt="a metal door slamming", duration_s=5.0, steps=args.steps, seed=0)
    print(f"threads {args.threads}, {args.steps} DPM++ steps, guidance {request.guidance_scale}, 5.0 s clip")
    print(f"load {load_s:.2f} s")
    report("generate", lambda: model.generate(request), args.repeats)
    report("generate --loop", lambda: model.generate(replace(request, loop=True)), args.repeats)

    seconds = np.arange(5 * 48000) / 48000
    stereo = np.stack([np.sin(2 * np.pi * 220 * seconds), np.sin(2 * np.pi * 330 * seconds)], axis=1)
    clip = Clip((0.4 * stereo).astype(np.float32), 48000)
    text = replace(request, duration_s=None)
    edits = {
        "transfer strength 0.5 (stereo 48k)": EditRequest("transfer", clip, text, strength=0.5),
        "inpaint 1.0-2.5 s (stereo 48k)": EditRequest("inpaint", clip, text, start_s=1.0, end_s=2.5),
        "extend +2 s (stereo 48k)": EditRequest("extend", clip, text, extend_s=2.0),
        "vary (stereo 48k)": EditRequest("vary", clip, replace(text, prompt="")),
    }
    for name, edit in edits.items():
        report(name, lambda edit=edit: model.edit(edit), args.repeats)


def report(name: str, run: Callable[[], object], repeats: int) -> None:
    """The median wall time of `run` over `repeats` runs, after one warm-up."""
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    print(
        f"{name:<36} median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {repeats} runs)"
    )


if __name__ == "__main__":
    main()
