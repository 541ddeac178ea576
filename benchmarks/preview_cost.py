"""Time to first sound: what previews cost a generation and when the first one is heard.

Times the same generation with and without a preview sink, alternating, in one process, and records when
each preview arrived. Run from the repository root:
  python3 -m benchmarks.preview_cost [--model bench-out/audioldm-s-random] [--steps 20] [--repeats 2]
(the full-size random checkpoint is built by python3 -m benchmarks.bench_engine; --model default runs the
built-in model).
"""

from __future__ import annotations

import argparse
import statistics
import time

from soundloom.engine import GenerationRequest
from soundloom.engine.default_model import resolve_model
from soundloom.engine.loader import load_model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="bench-out/audioldm-s-random")
    parser.add_argument("--duration", type=float, default=10.24)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sampler", default="dpm++")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    model = load_model(resolve_model(args.model), device="cpu", dtype="float32")
    request = GenerationRequest(
        "a dog barking in the rain", duration_s=args.duration, steps=args.steps, guidance_scale=2.5, seed=0,
        sampler=args.sampler,
    )  # fmt: skip
    model.generate(GenerationRequest("warm-up", duration_s=args.duration, steps=1, seed=0))
    plain, with_preview, first, counts = [], [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.generate(request)
        plain.append(time.perf_counter() - start)
        arrivals: list[tuple[float, float]] = []
        start = time.perf_counter()
        model.generate(
            request,
            preview=lambda wave, fraction, heard=arrivals: heard.append((time.perf_counter(), fraction)),
        )
        with_preview.append(time.perf_counter() - start)
        first.append(arrivals[0][0] - start if arrivals else float("nan"))
        counts.append([round(fraction, 2) for _, fraction in arrivals])
    without, with_ = statistics.median(plain), statistics.median(with_preview)
    print(f"{args.model}, {args.duration:g} s, {args.steps} {args.sampler} steps (median of {args.repeats}):")
    print(f"  without previews {without:.2f} s, with {with_:.2f} s: previews cost {with_ / without - 1:+.1%}")
    print(f"  first preview heard after {statistics.median(first):.2f} s; previews at {counts[-1]}")


if __name__ == "__main__":
    main()
