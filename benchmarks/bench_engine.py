"""Soundloom's engine against diffusers on the full-size AudioLDM-S and AudioLDM 2 architectures, same
random weights.

Builds cvssp/audioldm-s-full-v2's and cvssp/audioldm2's architectures from the published configs
(tests/reference/) once, then times, alternating the two implementations on identical inputs:
  - one UNet step (batch 2: the guided pair) on a 10.24 s latent (8 x 256 x 16);
  - a whole 10.24 s generation: CPU 20 DPM-Solver++ steps; CUDA 200 DDIM and 20 DPM-Solver++ steps in
    float16 and bfloat16;
and checks the two waveforms agree. Run: python3 -m benchmarks.bench_engine [--family audioldm2] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from soundloom.engine import GenerationRequest  # noqa: E402
from soundloom.engine.device import Hardware  # noqa: E402
from soundloom.engine.loader import load_model  # noqa: E402

from tests.helpers.reference_audioldm2 import (  # noqa: E402
    build_audioldm2_checkpoint,
    load_audioldm2_reference,
    published_audioldm2_configs,
)
from tests.helpers.reference_checkpoint import PUBLISHED_CONFIGS, build_checkpoint, published_configs  # noqa: E402

DURATION_S = 10.24


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def alternate(runs: dict, repeats: int, device: torch.device) -> dict[str, float]:
    """Median seconds of each callable, run in turns (after one warm-up each) so drift hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def unet_steps(family: str, reference, ours, device: torch.device, dtype: torch.dtype):
    """(reference step, our step): one UNet call each on the same guided pair for a 10.24 s latent."""
    generator = torch.Generator().manual_seed(0)
    latent = torch.randn(2, 8, 256, 16, generator=generator).to(device, dtype)
    timestep = torch.tensor(500, device=device)
    if family == "audioldm":
        condition = torch.nn.functional.normalize(torch.randn(2, 512, generator=generator), dim=-1)
        condition = condition.to(device, dtype)

        def reference_step() -> torch.Tensor:
            with torch.no_grad():
                return reference.unet(
                    latent, timestep, encoder_hidden_states=None, class_labels=condition
                ).sample

        def our_step() -> torch.Tensor:
            with torch.inference_mode():
                return ours.unet(latent, timestep, class_condition=condition)

        return reference_step, our_step
    loa = torch.randn(2, 8, 768, generator=generator).to(device, dtype)  # GPT-2's 8 LOA states
    text = torch.randn(2, 12, 1024, generator=generator).to(device, dtype)  # 12 FLAN-T5 tokens
    mask = torch.ones(2, 12, dtype=torch.long, device=device)
    mask[0, 9:] = 0

    def reference_step() -> torch.Tensor:
        with torch.no_grad():
            return reference.unet(
                latent, timestep, encoder_hidden_states=loa, encoder_hidden_states_1=text,
                encoder_attention_mask_1=mask,
            ).sample  # fmt: skip

    def our_step() -> torch.Tensor:
        with torch.inference_mode():
            return ours.unet(latent, timestep, contexts=(loa, text), context_masks=(None, mask))

    return reference_step, our_step


def load_reference(family: str, checkpoint: Path, device: torch.device, dtype: torch.dtype):
    from diffusers import AudioLDMPipeline

    if family == "audioldm":
        reference = AudioLDMPipeline.from_pretrained(checkpoint, torch_dtype=dtype).to(device)
        reference.set_progress_bar_config(disable=True)
        return reference
    return load_audioldm2_reference(checkpoint, dtype).to(device)


def bench_dtype(
    family: str,
    checkpoint: Path,
    device: torch.device,
    dtype_name: str,
    cases: list[tuple[str, int]],
    repeats: int,
    e2e_repeats: int,
) -> list[tuple[str, float, float, float]]:
    """Rows of (case, diffusers seconds, soundloom seconds, max |difference| / peak) for one dtype."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    dtype = getattr(torch, dtype_name)
    ours = load_model(str(checkpoint), device=device.type, dtype=dtype_name)
    reference = load_reference(family, checkpoint, device, dtype)
    reference_step, our_step = unet_steps(family, reference, ours, device, dtype)
    step = alternate({"diffusers": reference_step, "soundloom": our_step}, repeats, device)
    expected = reference_step()
    step_error = ((expected - our_step()).abs().max() / expected.abs().max()).item()
    rows = [(f"{family}: UNet step, batch 2, {dtype_name}", step["diffusers"], step["soundloom"], step_error)]

    outputs: dict[str, np.ndarray] = {}
    for sampler, steps in cases:
        request = GenerationRequest(
            "a dog barking in the rain",
            negative_prompt="low quality",
            duration_s=DURATION_S,
            steps=steps,
            guidance_scale=2.5,
            seed=0,
            sampler=sampler,
        )
        scheduler_class = DDIMScheduler if sampler == "ddim" else DPMSolverMultistepScheduler
        reference.scheduler = scheduler_class.from_config(reference.scheduler.config)

        def reference_e2e(request: GenerationRequest = request) -> None:
            outputs["diffusers"] = reference(
                request.prompt,
                negative_prompt=request.negative_prompt,
                audio_length_in_s=request.duration_s,
                num_inference_steps=request.steps,
                guidance_scale=request.guidance_scale,
                generator=torch.Generator("cpu").manual_seed(request.seed),
            ).audios[0]

        def our_e2e(request: GenerationRequest = request) -> None:
            outputs["soundloom"] = ours.generate(request)[0].audio

        e2e = alternate({"diffusers": reference_e2e, "soundloom": our_e2e}, e2e_repeats, device)
        peak = np.abs(outputs["diffusers"]).max()
        error = float(np.abs(outputs["diffusers"] - outputs["soundloom"]).max() / peak)
        rows.append(
            (
                f"{family}: 10.24 s clip, {steps} {sampler} steps, {dtype_name}",
                e2e["diffusers"],
                e2e["soundloom"],
                error,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--family", choices=("audioldm", "audioldm2"), action="append", help="default: both, in one run"
    )
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "bench-out", help="where to build them")
    parser.add_argument("--reference", type=Path, default=PUBLISHED_CONFIGS)
    parser.add_argument("--repeats", type=int, default=5, help="timed UNet steps per implementation")
    parser.add_argument(
        "--e2e-repeats", type=int, default=2, help="timed whole generations per implementation"
    )
    parser.add_argument("--dtype", action="append", help="only these dtypes (default: all for the device)")
    args = parser.parse_args()

    builders = {
        "audioldm": (
            "audioldm-s-random",
            lambda folder: build_checkpoint(folder, **published_configs(args.reference)),
        ),
        "audioldm2": (
            "audioldm2-random",
            lambda folder: build_audioldm2_checkpoint(folder, **published_audioldm2_configs(args.reference)),
        ),
    }
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # On a CPU with native bfloat16 (AVX512-BF16, AMX) its rows come too, both implementations in it.
    cpu_dtypes = ["float32", "bfloat16"] if Hardware.here().cpu_bf16 else ["float32"]
    dtypes = ["float16", "bfloat16"] if device.type == "cuda" else cpu_dtypes
    cases = [("dpm++", 20)] + ([("ddim", 200)] if device.type == "cuda" else [])
    where = torch.cuda.get_device_name() if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"device {device} ({where}), torch {torch.__version__}")
    rows = []
    for family in args.family or list(builders):
        name, build = builders[family]
        checkpoint = args.checkpoints / name
        if not (checkpoint / "model_index.json").exists():
            print(f"building the full-size random {family} checkpoint in {checkpoint} ...", file=sys.stderr)
            build(checkpoint)
        for dtype in args.dtype or dtypes:
            rows += bench_dtype(family, checkpoint, device, dtype, cases, args.repeats, args.e2e_repeats)

    print(f"\n| {'case':<50} | diffusers s | soundloom s | speed-up | max |Δ| / peak |")
    print(f"|{'-' * 52}|-------------|-------------|----------|------------------|")
    for name, theirs, mine, error in rows:
        print(f"| {name:<50} | {theirs:11.3f} | {mine:11.3f} | {theirs / mine:7.2f}x | {error:16.2e} |")


if __name__ == "__main__":
    main()
