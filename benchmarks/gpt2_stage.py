"""AudioLDM 2's GPT-2 stage: its static key/value cache against transformers' default DynamicCache, and
its share of a whole generation, on the full-size random checkpoint.

Run from the repository root (python3 -m benchmarks.bench_engine --family audioldm2 builds the
checkpoint): python3 -m benchmarks.gpt2_stage [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch
from soundloom.engine import GenerationRequest
from soundloom.engine.loader import load_model

from .bench_engine import ROOT, alternate

PROMPT = "a dog barking in the rain"


def dynamic_cache_generate(language_model, prompt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The loop as it was: transformers' default cache, grown (allocated and copied) at every token."""
    inputs, cache, generated = prompt, None, []
    for _ in range(language_model.new_tokens):
        output = language_model.model(inputs_embeds=inputs, attention_mask=mask, use_cache=True, cache=cache)
        cache = output.cache
        inputs = output.last_hidden_state[:, -1:]
        generated.append(inputs)
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
    return torch.cat(generated, dim=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", default=str(ROOT / "bench-out" / "audioldm2-random"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = load_model(args.checkpoint, device="cpu", dtype="float32")
    language_model = model.model.conditioner.language_model
    captured: dict[str, torch.Tensor] = {}
    real_generate = language_model.generate

    def capture(prompt: torch.Tensor, mask: torch.Tensor, new_tokens: int | None = None) -> torch.Tensor:
        captured["prompt"], captured["mask"] = prompt, mask
        return real_generate(prompt, mask, new_tokens)

    language_model.generate = capture
    request = GenerationRequest(PROMPT, negative_prompt="low quality", duration_s=10.24, steps=20, seed=0)
    start = time.perf_counter()
    model.generate(request)
    whole = time.perf_counter() - start
    language_model.generate = real_generate
    prompt, mask = captured["prompt"], captured["mask"]  # (2, S, 768): the guided pair
    with torch.inference_mode():
        times = alternate(
            {
                "dynamic": lambda: dynamic_cache_generate(language_model, prompt, mask),
                "static": lambda: real_generate(prompt, mask),
            },
            args.repeats,
            torch.device("cpu"),
        )
        error = (
            (dynamic_cache_generate(language_model, prompt, mask) - real_generate(prompt, mask)).abs().max()
        )
    print(
        f"GPT-2, {tuple(prompt.shape)} prompt, {language_model.new_tokens} new tokens "
        f"(median of {args.repeats}):"
    )
    print(f"  DynamicCache {times['dynamic'] * 1000:.1f} ms, StaticCache {times['static'] * 1000:.1f} ms, "
          f"max |difference| {error:.1e}")  # fmt: skip
    print(f"  share of a 10.24 s, 20-step generation ({whole:.1f} s): {times['static'] / whole:.2%}")


if __name__ == "__main__":
    main()
