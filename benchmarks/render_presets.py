"""Try every shipped preset on real audio and time the render stage.

Effect presets run over real recordings the corpus renders (espeak-ng speech, FluidSynth drums and
guitar, procedural impact and wind), exported at 48 kHz stereo to -18 LUFS; prompt presets generate
through the built-in model with their default blanks and their suggested chain. Each output is written
under bench-out/presets/ to listen to, and measured: loudness, true peak, tail, spectral centroid.

    cd benchmarks && python3 render_presets.py [--skip-prompts]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from soundloom.engine.training.corpus import CATEGORY_NAMES, SAMPLE_RATE, make_item
from soundloom.host_bridge.delivery.deliver import Delivery, deliver, write_takes
from soundloom.host_bridge.delivery.provenance import Provenance
from soundloom.presets import ExportSettings, load_library, render

SOURCES = ("speech", "drums", "guitar", "impact", "wind")
EXPORT = ExportSettings(sample_rate=48000, channels="stereo", loudness_lufs=-18.0, bit_depth="24")


def centroid_hz(audio: np.ndarray, sample_rate: int) -> float:
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    power = np.abs(np.fft.rfft(mono)) ** 2
    return float(np.sum(np.fft.rfftfreq(len(mono), 1 / sample_rate) * power) / max(np.sum(power), 1e-20))


def source_clip(category: str) -> np.ndarray:
    index = CATEGORY_NAMES.index(category)  # the first corpus item of that category
    return make_item(seed=0, index=index, duration_s=3.0).audio


def effect_presets(out: Path) -> None:
    library = load_library()
    clips = {name: source_clip(name) for name in SOURCES}
    header = ("effect preset", "source", "ms", "LUFS", "dBTP", "tail s", "centroid Hz")
    print("{:<18} {:<7} {:>6} {:>6} {:>6} {:>6} {:>17}".format(*header))
    for entry in sorted(library.effects.values(), key=lambda entry: entry.preset.name):
        chain = entry.preset
        for source, audio in clips.items():
            started = time.perf_counter()
            rendered = render(audio, SAMPLE_RATE, chain, EXPORT)
            elapsed_ms = 1000 * (time.perf_counter() - started)
            before = centroid_hz(audio, SAMPLE_RATE)
            after = centroid_hz(rendered.audio, rendered.sample_rate)
            assert np.isfinite(rendered.audio).all() and rendered.true_peak_dbtp <= EXPORT.ceiling_dbtp + 1e-3
            take = Provenance(operation="fx", prompt=f"{source} through {chain.name}")
            write_takes(
                [(take, audio, SAMPLE_RATE)], out, Delivery(chain=chain, export=EXPORT, keep_dry=False), False
            )
            print(
                f"{chain.name:<18} {source:<7} {elapsed_ms:6.0f} {rendered.loudness_lufs:6.1f} "
                f"{rendered.true_peak_dbtp:6.1f} {rendered.tail_s:6.2f} {before:7.0f} -> {after:6.0f}"
            )


def prompt_presets(out: Path) -> None:
    from soundloom.engine import GenerationRequest
    from soundloom.engine.default_model import resolve_model
    from soundloom.engine.loader import load_model

    library = load_library()
    model = load_model(resolve_model("default"), device="cpu")
    print(f"\n{'prompt preset':<14} {'fx':<17} {'gen s':>6} {'LUFS':>6} {'dBTP':>6} {'s':>6}  prompt")
    for entry in sorted(library.prompts.values(), key=lambda entry: entry.preset.name):
        preset = entry.preset
        request = GenerationRequest(seed=0, **preset.request_fields())
        started = time.perf_counter()
        [result] = model.generate(request)
        elapsed = time.perf_counter() - started
        chain = library.effect(preset.fx) if preset.fx else Delivery().chain
        [written] = deliver([result], out, Delivery(chain=chain, export=EXPORT, keep_dry=False))
        rendered = written.rendered
        print(
            f"{preset.name:<14} {chain.name:<17} {elapsed:6.2f} {rendered.loudness_lufs:6.1f} "
            f"{rendered.true_peak_dbtp:6.1f} {rendered.duration_s:6.2f}  {request.prompt}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-prompts", action="store_true", help="effect presets only (no model)")
    args = parser.parse_args()
    out = Path(__file__).parent / "bench-out" / "presets"
    out.mkdir(parents=True, exist_ok=True)
    effect_presets(out)
    if not args.skip_prompts:
        prompt_presets(out)


if __name__ == "__main__":
    main()
