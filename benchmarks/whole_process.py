"""Whole processes, as a user runs them: `soundloom generate ...` from start to written file against the
same job in a plain diffusers script, on the same full-size random weights.

Each run is a fresh Python process (imports, loading, sampling, decoding, writing the WAV), timed by the
wall clock, its peak resident memory read from the kernel (wait4's ru_maxrss), the implementations
alternating so drift hits both alike. Then the two files are compared (max |difference| / peak).

Run: python3 -m benchmarks.whole_process [--family audioldm2] [--duration 60 --steps 1] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch
from soundloom.engine.audio import waveform_to_mel

ROOT = Path(__file__).resolve().parents[1]
PROMPT, NEGATIVE, SEED, GUIDANCE = "a dog barking in the rain", "low quality", 0, 2.5

# The diffusers side: what a user of diffusers writes for the same job (DPM-Solver++ as our dpm++).
DIFFUSERS_SCRIPT = """
import sys, soundfile, torch
from diffusers import AudioLDMPipeline, DPMSolverMultistepScheduler
family, folder, out, prompt, negative = sys.argv[1:6]
duration, steps, guidance, seed = float(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
if family == "audioldm":
    pipe = AudioLDMPipeline.from_pretrained(folder)
else:  # transformers 5's GPT2Model lacks the generation helpers diffusers calls: the tests' shim
    from tests.helpers.reference_audioldm2 import load_audioldm2_reference
    pipe = load_audioldm2_reference(folder)
pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
pipe.set_progress_bar_config(disable=True)
audio = pipe(prompt, negative_prompt=negative, audio_length_in_s=duration, num_inference_steps=steps,
             guidance_scale=guidance, generator=torch.Generator("cpu").manual_seed(seed)).audios[0]
soundfile.write(out, audio, pipe.vocoder.config.sampling_rate, subtype="FLOAT")
"""


def commands(
    family: str, folder: Path, out: Path, duration: float, steps: int, dtype: str
) -> dict[str, list[str]]:
    soundloom = [
        shutil.which("soundloom") or "soundloom", "generate", PROMPT, "--negative", NEGATIVE,
        "--model", str(folder), "--duration", str(duration), "--steps", str(steps), "--sampler", "dpm++",
        "--guidance", str(GUIDANCE), "--seed", str(SEED), "--device", "cpu", "--dtype", dtype,
        "--out", str(out / "ours.wav"), "--overwrite",
    ]  # fmt: skip
    diffusers = [
        sys.executable, "-c", DIFFUSERS_SCRIPT, family, str(folder), str(out / "diffusers.wav"),
        PROMPT, NEGATIVE, str(duration), str(steps), str(GUIDANCE), str(SEED),
    ]  # fmt: skip
    return {"diffusers": diffusers, "soundloom": soundloom}


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident GiB) of one process; a failure stops the benchmark with its stderr."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{command[:4]} failed:\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--family", choices=("audioldm", "audioldm2"), default="audioldm")
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "bench-out")
    parser.add_argument("--duration", type=float, default=10.24)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2, help="timed processes per implementation")
    parser.add_argument("--dtype", default="float32", help="ours; diffusers stays float32 (the baseline)")
    args = parser.parse_args()
    folder = (
        args.checkpoints / {"audioldm": "audioldm-s-random", "audioldm2": "audioldm2-random"}[args.family]
    )
    if not (folder / "model_index.json").exists():
        sys.exit(f"{folder} is missing: python3 -m benchmarks.bench_engine --family {args.family} builds it")

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        jobs = commands(args.family, folder, out, args.duration, args.steps, args.dtype)
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
        for _ in range(args.repeats):
            for name, command in jobs.items():
                figures[name].append(run(command))
                print(f"{name}: {figures[name][-1][0]:.1f} s, {figures[name][-1][1]:.2f} GiB", flush=True)
        theirs, _ = soundfile.read(out / "diffusers.wav", dtype="float32")
        mine, _ = soundfile.read(out / "ours.wav", dtype="float32")
    length = min(len(theirs), len(mine))
    error = float(np.abs(theirs[:length] - mine[:length]).max() / np.abs(theirs).max())
    mels = [waveform_to_mel(torch.from_numpy(wave[None, :length]).float()) for wave in (theirs, mine)]
    mel_l1 = float((mels[0] - mels[1]).abs().mean())  # natural-log mel, the features the models work in

    wall = {name: statistics.median(seconds for seconds, _ in runs) for name, runs in figures.items()}
    memory = {name: max(peak for _, peak in runs) for name, runs in figures.items()}
    print(
        f"\n{args.family}, {args.duration:g} s clip, {args.steps} dpm++ steps, ours in {args.dtype}, "
        "whole processes "
        f"(median of {args.repeats}):"
    )
    print(f"  diffusers {wall['diffusers']:.1f} s, peak {memory['diffusers']:.2f} GiB")
    print(f"  soundloom {wall['soundloom']:.1f} s, peak {memory['soundloom']:.2f} GiB")
    print(
        f"  speed-up {wall['diffusers'] / wall['soundloom']:.2f}x; files differ by {error:.1e} of peak, "
        f"log-mel L1 {mel_l1:.2e}"
    )


if __name__ == "__main__":
    main()
