"""The whole AudioLDM pipeline against diffusers' AudioLDMPipeline, and the engine API's behaviour."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
import torch
from soundloom.engine import EngineError, GenerationCancelled, GenerationRequest


def reference_audio(pipe, request: GenerationRequest) -> np.ndarray:
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    scheduler_class = DDIMScheduler if request.sampler == "ddim" else DPMSolverMultistepScheduler
    pipe.scheduler = scheduler_class.from_config(pipe.scheduler.config)
    return pipe(
        request.prompt,
        negative_prompt=request.negative_prompt or None,
        audio_length_in_s=request.duration_s,
        num_inference_steps=request.steps,
        guidance_scale=request.guidance_scale,
        eta=request.eta,
        num_waveforms_per_prompt=request.variations,
        generator=torch.Generator("cpu").manual_seed(request.seed),
    ).audios


def our_audio(model, request: GenerationRequest) -> np.ndarray:
    return np.stack([result.audio for result in model.generate(request)])


# diffusers tokenises the negative prompt to `projection_dim` tokens: 512 on the published CLAP (its own
# limit, so no effect there) but 16 on the tiny model, where a byte is a token. Negative prompts here stay
# under 14 characters so both sides see the same text.
CASES = [
    GenerationRequest("a dog barking", duration_s=1.0, steps=8, guidance_scale=3.0, seed=123, sampler="ddim"),
    GenerationRequest(
        "a dog barking",
        negative_prompt="low quality",
        duration_s=0.37,
        steps=6,
        guidance_scale=2.5,
        seed=5,
        sampler="ddim",
        variations=2,
    ),
    GenerationRequest(
        "rain on a tin roof",
        duration_s=1.28,
        steps=5,
        guidance_scale=4.0,
        seed=99,
        sampler="ddim",
        eta=1.0,
        variations=3,
    ),
    GenerationRequest(
        "rain on a tin roof",
        negative_prompt="music",
        duration_s=0.9,
        steps=10,
        guidance_scale=2.5,
        seed=2024,
        sampler="dpm++",
        variations=2,
    ),
    GenerationRequest(
        "metal door slam", duration_s=2.0, steps=20, guidance_scale=1.0, seed=1, sampler="dpm++"
    ),
]


@pytest.mark.parametrize("request_", CASES, ids=lambda r: f"{r.sampler}-{r.duration_s}s-x{r.variations}")
def test_waveforms_equal_diffusers_pipeline(
    engine_model, reference_pipeline, request_: GenerationRequest
) -> None:
    expected = reference_audio(reference_pipeline, request_)
    got = our_audio(engine_model, request_)
    assert got.shape == expected.shape == (request_.variations, int(request_.duration_s * 16000))
    peak = np.abs(expected).max()
    assert peak > 1e-2
    assert np.abs(got - expected).max() < 1e-4 * peak


def test_a_batch_of_prompts_equals_the_reference(engine_model, reference_pipeline) -> None:
    """generate_prompts: two prompts x two variations in one run, as AudioLDMPipeline batches a list."""
    from diffusers import DPMSolverMultistepScheduler

    prompts = ["a dog barking", "rain on a tin roof"]
    request = GenerationRequest("", negative_prompt="music", duration_s=0.64, steps=4, seed=5, variations=2)
    results = engine_model.generate_prompts(prompts, request)
    reference_pipeline.scheduler = DPMSolverMultistepScheduler.from_config(
        reference_pipeline.scheduler.config
    )
    expected = reference_pipeline(
        prompts,
        negative_prompt=["music", "music"],
        audio_length_in_s=0.64,
        num_inference_steps=4,
        guidance_scale=request.guidance_scale,
        num_waveforms_per_prompt=2,
        generator=torch.Generator("cpu").manual_seed(5),
    ).audios
    got = np.stack([result.audio for result in results])
    assert [(r.request.prompt, r.variation) for r in results] == [(p, v) for p in prompts for v in (1, 2)]
    assert np.abs(got - expected).max() < 1e-4 * np.abs(expected).max()
    single = engine_model.generate(replace(request, prompt=prompts[0]))  # the first rows are a lone request
    np.testing.assert_allclose(np.stack([r.audio for r in single]), got[:2], atol=1e-6)


def test_every_input_reaches_the_sound(engine_model) -> None:
    """Parity only means something if prompt, negative prompt, seed and guidance each change the audio."""
    base = GenerationRequest("a dog barking", duration_s=0.64, steps=4, seed=3, sampler="ddim")
    reference = our_audio(engine_model, base)[0]
    for change in ({"prompt": "a cat"}, {"negative_prompt": "noise"}, {"seed": 4}, {"guidance_scale": 6.0}):
        changed = our_audio(engine_model, replace(base, **change))[0]
        assert np.abs(changed - reference).max() > 1e-3 * np.abs(reference).max(), change


def test_same_seed_same_sound_and_results_carry_their_parameters(engine_model) -> None:
    request = GenerationRequest("wind", duration_s=0.5, steps=3, seed=None, variations=2)
    first = engine_model.generate(request)
    seed = first[0].request.seed
    assert isinstance(seed, int) and all(r.request.seed == seed for r in first)
    again = engine_model.generate(replace(request, seed=seed))
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.audio, b.audio)
    assert [r.variation for r in first] == [1, 2]
    assert not np.array_equal(first[0].audio, first[1].audio)  # variations differ
    assert first[0].sample_rate == 16000 and first[0].audio.dtype == np.float32
    assert first[0].duration_s == pytest.approx(0.5)


def test_native_duration_when_none_given(engine_model) -> None:
    result = engine_model.generate(GenerationRequest("wind", steps=2, seed=1))[0]
    # unet sample_size 16 latent frames x VAE factor 2 x 10 ms, as the reference pipeline's default
    assert result.duration_s == pytest.approx(0.32)
    assert result.request.duration_s == pytest.approx(0.32)


def test_progress_reports_every_step_and_cancel_stops(engine_model) -> None:
    steps_seen = []
    engine_model.generate(
        GenerationRequest("wind", duration_s=0.3, steps=5, seed=1),
        progress=lambda step, total: steps_seen.append((step, total)),
    )
    assert steps_seen == [(i, 5) for i in range(1, 6)]

    cancel = threading.Event()

    def cancel_at_two(step: int, total: int) -> None:
        if step == 2:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        engine_model.generate(
            GenerationRequest("wind", duration_s=0.3, steps=50, seed=1), progress=cancel_at_two, cancel=cancel
        )
    # the model is usable again after a cancelled job
    assert len(engine_model.generate(GenerationRequest("wind", duration_s=0.3, steps=2, seed=1))) == 1


def test_concurrent_callers_are_serialised_and_get_their_own_results(engine_model) -> None:
    requests = [GenerationRequest("wind", duration_s=0.4, steps=3, seed=s) for s in (10, 11, 12, 13)]
    expected = [our_audio(engine_model, r) for r in requests]
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = our_audio(engine_model, requests[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for i, audio in enumerate(expected):
        assert np.array_equal(results[i], audio)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"duration_s": 0.0}, r"duration must be between 0\.04 and 60 s, got 0"),
        ({"duration_s": -1.0}, r"duration must be between 0\.04 and 60 s, got -1"),
        ({"duration_s": 61.0}, r"duration must be between 0\.04 and 60 s, got 61"),
        ({"duration_s": 0.01}, r"duration must be between 0\.04 and 60 s, got 0\.01"),
        ({"steps": 0}, "steps must be between 1"),
        ({"guidance_scale": -0.5}, r"guidance must be between 0 and 30, got -0\.5"),
        ({"guidance_scale": 31}, "guidance must be between 0 and 30, got 31"),
        ({"sampler": "heun"}, r"sampler must be one of dpm\+\+, ddim, euler, got 'heun'"),
        ({"prompt": "  "}, "the prompt is empty"),
        ({"variations": 0}, "variations must be between 1"),
        ({"steps": 2.5}, "steps must be a whole number, got 2.5"),
        ({"seed": "7"}, "seed must be a whole number, got '7'"),
        ({"seed": -1}, "seed must be between 0 and 9223372036854775807, got -1"),
        ({"eta": 2.0, "sampler": "ddim"}, "eta must be between 0 and 1"),
        ({"eta": 0.5, "sampler": "dpm++"}, "eta applies to the ddim sampler only"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(engine_model, change: dict, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        engine_model.generate(GenerationRequest(**{"prompt": "wind", "duration_s": 1.0, **change}))


def test_waveform_round_trip_through_the_vae(engine_model) -> None:
    """waveform -> AudioLDM features -> VAE latent -> mel -> vocoder keeps the clip's length and rate."""
    t = torch.arange(8000) / 16000
    waveform = torch.sin(2 * torch.pi * 440 * t)[None]
    codec = engine_model.model.codec
    latent = codec.encode(waveform)
    latent_frames, samples = codec.frames_for(0.5)
    assert latent.shape == (1, 4, latent_frames, 32) and latent_frames == 25  # 50 mel frames, VAE factor 2
    assert codec.decode(latent)[:, :samples].shape == (1, 8000)
