"""The GPU check: one prepared run for a lent GPU machine (benchmarks/gpu_check.sh calls it there).

1. Correctness: the same request on the CPU in float32 and on the GPU in float32 (TF32 off), float16 and
   bfloat16; the waveform's max |difference| / peak and the log-mel L1 distance against the CPU's.
2. Speed: a 10.24 s clip at 20 DPM-Solver++ and 200 DDIM steps (guidance 2.5), AudioLDM-S and AudioLDM 2
   on the published architectures with random weights, in float16 and bfloat16: ours, diffusers eager, and
   diffusers with its UNet under torch.compile (compile time reported apart). Median of --repeats after
   one warm-up, with torch.cuda.synchronize around each.

Every row is written to --out as soon as it is measured, so a run cut short keeps what it did.
`--smoke` runs the same code on the CPU with the tiny test checkpoints and short clips (CI-sized), so the
script is known to run before GPU time is spent on it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from soundloom.engine import GenerationRequest
from soundloom.engine.audio import MelConfig, waveform_to_mel
from soundloom.engine.loader import load_model

from tests.helpers.reference_audioldm2 import build_audioldm2_checkpoint, published_audioldm2_configs
from tests.helpers.reference_checkpoint import PUBLISHED_CONFIGS, build_checkpoint, published_configs

from .bench_engine import load_reference

ROOT = Path(__file__).resolve().parents[1]


class Report:
    def __init__(self, path: Path, facts: dict[str, Any]):
        self.path, self.data = path, {"facts": facts, "correctness": [], "speed": []}
        self.write()

    def add(self, section: str, row: dict[str, Any]) -> None:
        self.data[section].append(row)
        print(json.dumps(row), flush=True)
        self.write()

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.with_suffix(".part").write_text(json.dumps(self.data, indent=2))
        self.path.with_suffix(".part").replace(self.path)


def request(duration_s: float, sampler: str, steps: int) -> GenerationRequest:
    return GenerationRequest(
        "a dog barking in the rain",
        negative_prompt="low quality",
        duration_s=duration_s,
        steps=steps,
        guidance_scale=2.5,
        seed=0,
        sampler=sampler,
    )


def timed(run, device: torch.device, repeats: int) -> tuple[float, float]:
    """(first call's seconds, median seconds of `repeats` calls after it)."""

    def once() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    first = once()
    return first, statistics.median(once() for _ in range(repeats))


def mel_distance(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """Mean absolute difference of the two waveforms' log-mels (AudioLDM's front end)."""
    config = MelConfig(sample_rate=sample_rate)
    mels = [waveform_to_mel(torch.from_numpy(np.ascontiguousarray(w))[None].float(), config) for w in (a, b)]
    return float((mels[0] - mels[1]).abs().mean())


def correctness(
    report: Report, family: str, checkpoint: Path, device: torch.device, duration_s: float
) -> None:
    job = request(duration_s, "dpm++", 10)
    expected = load_model(str(checkpoint), device="cpu").generate(job)[0]
    for dtype in ("float32", "float16", "bfloat16"):
        model = load_model(str(checkpoint), device=str(device), dtype=dtype)
        got = model.generate(job)[0].audio
        peak = float(np.abs(expected.audio).max())
        report.add(
            "correctness",
            {
                "family": family,
                "dtype": dtype,
                "against": "our engine, CPU float32",
                "max_abs_diff_over_peak": float(np.abs(got - expected.audio).max()) / peak,
                "log_mel_l1": mel_distance(got, expected.audio, expected.sample_rate),
                "finite": bool(np.isfinite(got).all()),
            },
        )
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()


def speed(report: Report, family: str, checkpoint: Path, device: torch.device, args) -> None:
    for dtype_name in args.dtypes:
        speed_in(report, family, checkpoint, device, dtype_name, args)
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the models went with speed_in's frame


def speed_in(
    report: Report, family: str, checkpoint: Path, device: torch.device, dtype_name: str, args
) -> None:
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    ours = load_model(str(checkpoint), device=str(device), dtype=dtype_name)
    reference = load_reference(family, checkpoint, device, getattr(torch, dtype_name))

    def theirs(job: GenerationRequest) -> None:
        reference(
            job.prompt,
            negative_prompt=job.negative_prompt,
            audio_length_in_s=job.duration_s,
            num_inference_steps=job.steps,
            guidance_scale=job.guidance_scale,
            generator=torch.Generator("cpu").manual_seed(job.seed),
        )

    runs = {"soundloom": ours.generate, "diffusers eager": theirs, "diffusers + torch.compile": theirs}
    if device.type != "cuda":
        del runs["diffusers + torch.compile"]  # compiling on the CPU takes minutes: not in the smoke run
    for name, run in runs.items():
        if name == "diffusers + torch.compile":
            reference.unet = torch.compile(reference.unet)  # its compile time shows in first_call_s
        for sampler, steps in args.cases:
            job = request(args.duration, sampler, steps)
            scheduler = DDIMScheduler if sampler == "ddim" else DPMSolverMultistepScheduler
            reference.scheduler = scheduler.from_config(reference.scheduler.config)
            first, median = timed(lambda run=run, job=job: run(job), device, args.repeats)
            report.add(
                "speed",
                {
                    "family": family,
                    "dtype": dtype_name,
                    "case": f"{args.duration} s clip, {steps} {sampler} steps",
                    "implementation": name,
                    "first_call_s": first,
                    "median_s": median,
                },
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", type=Path, default=PUBLISHED_CONFIGS)
    parser.add_argument("--checkpoints", type=Path, default=Path("/tmp/soundloom-gpu-check"))
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny checkpoints, short clips")
    args = parser.parse_args()
    device = torch.device("cpu" if args.smoke else "cuda")
    args.duration = 0.64 if args.smoke else 10.24
    args.cases = [("dpm++", 3), ("ddim", 4)] if args.smoke else [("dpm++", 20), ("ddim", 200)]
    args.dtypes = ["float32"] if args.smoke else ["float16", "bfloat16"]
    args.repeats = 1 if args.smoke else args.repeats
    facts = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu (smoke run)",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    report = Report(args.out, facts)
    builders = {
        "audioldm": lambda folder: build_checkpoint(
            folder, **({} if args.smoke else published_configs(args.reference))
        ),
        "audioldm2": lambda folder: build_audioldm2_checkpoint(
            folder, **({} if args.smoke else published_audioldm2_configs(args.reference))
        ),
    }
    checkpoints = {}
    for family, build in builders.items():
        checkpoints[family] = args.checkpoints / (f"tiny-{family}" if args.smoke else family)
        if not (checkpoints[family] / "model_index.json").exists():
            build(checkpoints[family])
    for family, checkpoint in checkpoints.items():
        correctness(report, family, checkpoint, device, 0.64 if args.smoke else 2.56)
    for family, checkpoint in checkpoints.items():
        speed(report, family, checkpoint, device, args)
    report.data["facts"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    report.write()


if __name__ == "__main__":
    main()
