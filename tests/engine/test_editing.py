"""Transfer, inpaint, extend, vary and loops: sample-level behaviour, and parity with the paper's algorithm
run on diffusers' schedulers and UNet (the reference written here, independent of our samplers)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch
from soundloom.engine import Clip, EditRequest, EngineError, GenerationRequest, read_clip
from soundloom.engine.audio import MelConfig, waveform_to_mel
from soundloom.engine.clip import equal_power_splice
from soundloom.engine.denoising import Start, denoise

PROMPT = GenerationRequest("a metal door", steps=6, guidance_scale=2.5, seed=11)


@pytest.fixture(params=["audioldm", "audioldm2"])
def edit_model(request):
    """Each family's tiny checkpoint: every edit must behave the same on AudioLDM and AudioLDM 2."""
    return request.getfixturevalue("engine_model" if request.param == "audioldm" else "audioldm2_model")


def tone_clip(rate: int, seconds: float, channels: int, peak: float = 0.4) -> Clip:
    """Different tones per channel, so a channel mix-up shows."""
    t = np.arange(round(rate * seconds)) / rate
    tones = [peak * np.sin(2 * np.pi * (220 + 110 * c) * t + c) for c in range(channels)]
    return Clip(np.stack(tones, axis=1).astype(np.float32), rate)


def square_clip(samples: int) -> Clip:
    """16 kHz mono with zero mean and a peak of exactly 0.5: the model's own level, so the gain is 1."""
    audio = np.where(np.arange(samples) % 400 < 200, 0.5, -0.5).astype(np.float32)
    return Clip(audio[:, None], 16000)


# --- inpainting at the sample level -----------------------------------------------------------------


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_inpainting_keeps_every_sample_outside_the_region(edit_model, tmp_path, subtype, rate, channels):
    path = tmp_path / "in.wav"
    sf.write(path, tone_clip(rate, 1.3, channels).audio, rate, subtype=subtype)
    clip = read_clip(path, 60.0)
    request = EditRequest("inpaint", clip, PROMPT, start_s=0.41, end_s=0.83)
    [result] = edit_model.edit(request)

    fade = round(0.02 * rate)
    start, end = round(0.41 * rate), round(0.83 * rate)
    assert result.audio.shape == clip.audio.shape and result.sample_rate == rate
    assert np.array_equal(result.audio[: start - fade], clip.audio[: start - fade])
    assert np.array_equal(result.audio[end + fade :], clip.audio[end + fade :])
    inside = result.audio[start:end]
    assert not np.allclose(inside, clip.audio[start:end], atol=1e-3)  # the region really is new audio
    assert np.isfinite(result.audio).all()


def test_splice_crossfades_with_equal_power() -> None:
    original = np.full((1000, 2), 0.8, np.float32)
    new = np.stack([np.full(1000, -0.3), np.full(1000, 0.5)], axis=1).astype(np.float32)
    out = equal_power_splice(original, new, 400, 600, 100)
    ramp = (np.arange(100) + 0.5) / 100 * np.pi / 2  # sample centres: the fade never sits at exactly 0 or 1
    fade_in = np.cos(ramp)[:, None] * original[300:400] + np.sin(ramp)[:, None] * new[300:400]
    fade_out = np.sin(ramp)[:, None] * original[600:700] + np.cos(ramp)[:, None] * new[600:700]
    np.testing.assert_allclose(out[300:400], fade_in, atol=1e-7)
    np.testing.assert_allclose(out[600:700], fade_out, atol=1e-7)
    assert np.array_equal(out[400:600], new[400:600])
    assert np.array_equal(out[:300], original[:300]) and np.array_equal(out[700:], original[700:])
    # A fade that the clip's start cuts short keeps the gains it would have had.
    cut = equal_power_splice(original, new, 30, 600, 100)
    np.testing.assert_allclose(cut[:30], fade_in[70:], atol=1e-7)


def test_region_at_the_clip_edges(edit_model) -> None:
    clip = tone_clip(44100, 1.0, 2)
    [head] = edit_model.edit(EditRequest("inpaint", clip, PROMPT, start_s=0.0, end_s=0.2))
    [tail] = edit_model.edit(EditRequest("inpaint", clip, PROMPT, start_s=0.8, end_s=1.0))
    fade = 882
    assert np.array_equal(head.audio[8820 + fade :], clip.audio[8820 + fade :])
    assert np.array_equal(tail.audio[: 35280 - fade], clip.audio[: 35280 - fade])
    assert head.audio.shape == tail.audio.shape == clip.audio.shape


def test_extend_appends_and_keeps_the_clip(edit_model) -> None:
    clip = tone_clip(22050, 0.9, 2)
    [result] = edit_model.edit(EditRequest("extend", clip, PROMPT, extend_s=0.5))
    fade = round(0.02 * 22050)
    assert result.audio.shape == (clip.frames + round(0.5 * 22050), 2)
    assert np.array_equal(result.audio[: clip.frames - fade], clip.audio[: clip.frames - fade])
    assert np.abs(result.audio[clip.frames :]).max() > 1e-3  # the continuation is sound, not silence


# --- transfer -----------------------------------------------------------------------------------------


def test_strength_zero_is_the_clips_own_round_trip(edit_model) -> None:
    clip = square_clip(16000)
    request = EditRequest("transfer", clip, PROMPT, strength=0.0)
    [result] = edit_model.edit(request)
    [other] = edit_model.edit(replace(request, generation=replace(PROMPT, prompt="rain", seed=99)))
    waveform = torch.from_numpy(clip.audio.T.copy())
    codec = edit_model.model.codec
    round_trip = codec.decode(codec.encode(waveform))[0, :16000].numpy()
    np.testing.assert_allclose(result.audio[:, 0], round_trip, atol=1e-6)
    assert np.array_equal(result.audio, other.audio)  # no prompt, no seed: nothing was sampled


@pytest.mark.parametrize("sampler", ["ddim", "dpm++"])
def test_strength_one_is_plain_generation_with_the_seed(edit_model, sampler) -> None:
    clip = square_clip(16000)
    generation = replace(PROMPT, sampler=sampler, variations=2)
    results = edit_model.edit(EditRequest("transfer", clip, generation, strength=1.0))
    expected = edit_model.generate(replace(generation, duration_s=1.0))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_allclose(got.audio[:, 0], want.audio, atol=1e-6)


def test_same_seed_same_result_and_results_carry_their_parameters(edit_model) -> None:
    clip = tone_clip(48000, 0.8, 2)
    request = EditRequest("transfer", clip, replace(PROMPT, seed=None), strength=0.6)
    first = edit_model.edit(request)[0]
    seed = first.request.generation.seed
    assert isinstance(seed, int)
    again = edit_model.edit(replace(request, generation=replace(PROMPT, seed=seed)))[0]
    assert np.array_equal(first.audio, again.audio)
    assert first.request.strength == 0.6 and first.request.operation == "transfer"
    assert first.model_id == edit_model.model_id and first.sample_rate == 48000
    half = edit_model.edit(replace(request, strength=0.3, generation=replace(PROMPT, seed=seed)))[0]
    assert not np.array_equal(half.audio, first.audio)


def test_stereo_is_each_channel_processed_with_the_same_noise(edit_model) -> None:
    stereo = tone_clip(44100, 0.7, 2)
    [both] = edit_model.edit(EditRequest("transfer", stereo, PROMPT, strength=0.7))
    for channel in range(2):
        mono = Clip(stereo.audio[:, channel : channel + 1].copy(), 44100)
        [alone] = edit_model.edit(EditRequest("transfer", mono, PROMPT, strength=0.7))
        np.testing.assert_allclose(both.audio[:, channel], alone.audio[:, 0], atol=1e-5)
    assert not np.allclose(both.audio[:, 0], both.audio[:, 1], atol=1e-3)


def test_results_come_back_at_the_clips_level(edit_model) -> None:
    loud, quiet = square_clip(16000), square_clip(16000)
    quiet = Clip(quiet.audio * 0.1, 16000)
    [a] = edit_model.edit(EditRequest("transfer", loud, PROMPT, strength=0.5))
    [b] = edit_model.edit(EditRequest("transfer", quiet, PROMPT, strength=0.5))
    np.testing.assert_allclose(b.audio, a.audio * 0.1, atol=1e-6)


# --- parity with the paper's algorithm on diffusers' schedulers --------------------------------------


def reference_sample(pipe, sampler, request, clip_latent, noise, strength=1.0, repaint=None):
    """AudioLDM audio-to-audio with diffusers: img2img start for `strength`, inpainting re-injection of
    the clip's latent (noised to the next timestep, clean after the last) where `repaint` is 0."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    scheduler_class = DDIMScheduler if sampler == "ddim" else DPMSolverMultistepScheduler
    scheduler = scheduler_class.from_config(pipe.scheduler.config)
    scheduler.set_timesteps(request.steps)
    timesteps = scheduler.timesteps
    embeds = pipe._encode_prompt(request.prompt, "cpu", 1, True, request.negative_prompt or None)
    if strength < 1.0:
        t_start = request.steps - min(int(request.steps * strength), request.steps)
        timesteps = timesteps[t_start:]
        if hasattr(scheduler, "set_begin_index"):  # the multistep schedulers index from here
            scheduler.set_begin_index(t_start)
        latents = scheduler.add_noise(clip_latent, noise, timesteps[:1])
    else:
        latents = noise * scheduler.init_noise_sigma
    for i, t in enumerate(timesteps):
        model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        output = pipe.unet(model_input, t, encoder_hidden_states=None, class_labels=embeds).sample
        uncond, cond = output.chunk(2)
        latents = scheduler.step(uncond + request.guidance_scale * (cond - uncond), t, latents).prev_sample
        if repaint is not None:
            known = clip_latent
            if i < len(timesteps) - 1:
                known = scheduler.add_noise(clip_latent, noise, timesteps[i + 1 : i + 2])
            latents = (1 - repaint) * known + repaint * latents
    return pipe.mel_spectrogram_to_waveform(pipe.decode_latents(latents)).numpy()


@pytest.mark.parametrize("sampler", ["ddim", "dpm++"])
@pytest.mark.parametrize("operation", ["transfer", "inpaint"])
def test_transfer_and_inpainting_equal_the_reference(engine_model, reference_pipeline, sampler, operation):
    clip = square_clip(16000)
    generation = replace(PROMPT, sampler=sampler, steps=7, negative_prompt="noise")
    request = EditRequest("transfer", clip, generation, strength=0.6)
    if operation == "inpaint":
        request = replace(request, operation="inpaint", start_s=0.3, end_s=0.55)
    [ours] = engine_model.edit(request)

    with torch.no_grad():
        clip_latent = engine_model.model.codec.encode(torch.from_numpy(clip.audio.T.copy()))
        noise, _ = engine_model.model.initial_noise(generation.seed, 1, clip_latent.shape[2])
        repaint = None
        if operation == "inpaint":
            frame_s = engine_model.model.codec.latent_frame_s
            repaint = torch.zeros(1, 1, clip_latent.shape[2], 1)
            repaint[:, :, math.floor((0.3 - 0.02) / frame_s) : math.ceil((0.55 + 0.02) / frame_s)] = 1
            expected = reference_sample(
                reference_pipeline, sampler, generation, clip_latent, noise, 1.0, repaint
            )
        else:
            expected = reference_sample(reference_pipeline, sampler, generation, clip_latent, noise, 0.6)
    expected = expected[0, :16000]
    if operation == "inpaint":  # the splice at the input's rate is ours; compare the new region itself
        region = slice(round(0.3 * 16000), round(0.55 * 16000))
        got, expected = ours.audio[region, 0], expected[region]
    else:
        got = ours.audio[:, 0]
    assert np.abs(expected).max() > 1e-2
    assert np.abs(got - expected).max() < 1e-4 * np.abs(expected).max()


# --- variations, loops, re-ranking --------------------------------------------------------------------


def test_variations_need_the_clap_audio_branch(engine_model) -> None:
    clip = tone_clip(16000, 1.0, 1)
    with pytest.raises(EngineError, match="ships only CLAP's text branch"):
        engine_model.edit(EditRequest("vary", clip, replace(PROMPT, prompt="")))
    with pytest.raises(EngineError, match="ships only CLAP's text branch"):
        engine_model.generate(replace(PROMPT, variations=2, rerank=True, duration_s=0.5))


def test_variations_condition_on_the_clips_audio_embedding(default_model) -> None:
    """Same seed, two clips: different sounds, and exactly what sampling on each clip's embedding gives."""
    low, high = tone_clip(16000, 1.28, 1, 0.5), tone_clip(16000, 1.28, 1, 0.5)
    high = Clip(np.sign(high.audio) * 0.5, 16000)  # a square wave: another timbre, another embedding
    request = EditRequest("vary", low, replace(PROMPT, prompt="", guidance_scale=1.0, variations=2))
    first = default_model.edit(request)
    second = default_model.edit(replace(request, clip=high))
    assert not np.allclose(first[0].audio, second[0].audio, atol=1e-3)
    assert not np.allclose(first[0].audio, first[1].audio, atol=1e-3)  # two variations, two noises

    with torch.inference_mode():
        waveform = torch.from_numpy(low.audio.T.copy())
        model = default_model.model
        embedding = model.conditioner.embed_audio(waveform).repeat(2, 1)
        noise, generator = model.initial_noise(PROMPT.seed, 2, 16)
        latent = denoise(model, request.generation, embedding, None, Start(noise, generator))
        expected = model.codec.decode(latent)[:, : low.frames].numpy()
    gain = np.abs(low.audio - low.audio.mean()).max() / 0.5
    np.testing.assert_allclose(first[0].audio[:, 0], expected[0] * gain, atol=1e-5)


def wrap_discontinuity(audio: np.ndarray) -> float:
    """Spectral flux where the loop wraps, over the clip's median flux (1: as smooth as anywhere)."""
    middle = len(audio) // 2
    rolled = torch.from_numpy(np.roll(audio, middle)[None].copy())  # the wrap point now sits in the middle
    mel = waveform_to_mel(rolled, MelConfig(n_fft=256, win_length=256, hop_length=32))[0].numpy()
    flux = np.abs(np.diff(mel, axis=0)).mean(axis=1)
    frame = middle // 32
    return float(flux[frame - 4 : frame + 4].max() / np.median(flux))


def test_loops_wrap_more_smoothly_than_plain_renders(default_model) -> None:
    # A tonal prompt: a plain render cut anywhere jumps in pitch and level, so the wrap shows. Steady noise
    # (wind, rain) is nearly as smooth across any cut, and a trained model's wind says little about loops.
    plain, looped = [], []
    for seed in range(4):
        request = GenerationRequest("a piano melody", seed=seed, steps=8, duration_s=1.0)
        plain.append(wrap_discontinuity(default_model.generate(request)[0].audio))
        looped.append(wrap_discontinuity(default_model.generate(replace(request, loop=True))[0].audio))
    assert np.mean(looped) < 0.6 * np.mean(plain), (looped, plain)


def test_loops_have_the_exact_length_asked_for(default_model) -> None:
    # 1.3 s is not a whole number of latent frames: the loop is stretched onto exactly 20800 samples.
    [result] = default_model.generate(GenerationRequest("rain", seed=1, steps=4, duration_s=1.3, loop=True))
    assert result.audio.shape == (20800,)
    clip = tone_clip(44100, 0.77, 2)
    [looped] = default_model.edit(EditRequest("transfer", clip, replace(PROMPT, loop=True), strength=0.8))
    assert looped.audio.shape == clip.audio.shape


def test_rerank_orders_by_clap_score(default_model) -> None:
    request = GenerationRequest("a dog barking", seed=5, steps=4, duration_s=1.0, variations=3, rerank=True)
    results = default_model.generate(request)
    scores = [result.score for result in results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(result.variation for result in results) == [1, 2, 3]
    plain = default_model.generate(replace(request, rerank=False))
    for result in results:  # the same candidates, only ordered; each score is its own CLAP similarity
        same = plain[result.variation - 1]
        assert np.array_equal(same.audio, result.audio)
        conditioner = default_model.model.conditioner
        text = conditioner.embed_text([request.prompt]).float()
        audio = conditioner.embed_audio(torch.from_numpy(same.audio[None].copy())).float()
        assert result.score == pytest.approx(float(audio @ text.T), abs=1e-5)


# --- bad requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(strength=1.5), "strength must be between 0 and 1"),
        (dict(strength=-0.1), "strength must be between 0 and 1"),
        (dict(operation="inpaint", start_s=0.5, end_s=0.5), "must be non-empty and inside the clip"),
        (dict(operation="inpaint", start_s=0.2, end_s=1.5), "must be non-empty and inside the clip"),
        (dict(operation="inpaint", start_s=-0.1, end_s=0.3), "must be non-empty and inside the clip"),
        (dict(operation="inpaint"), "inpainting needs a region"),
        (dict(operation="extend", extend_s=0.0), r"extend must be between 0\.04 and 30 s, got 0"),
        (dict(operation="inpaint", start_s=0.1, end_s=0.2, generation=replace(PROMPT, loop=True)), "loop"),
        (dict(generation=replace(PROMPT, prompt=" ")), "the prompt is empty"),
        (dict(generation=replace(PROMPT, duration_s=2.0)), "the clip sets the duration"),
        (dict(clip=Clip(np.zeros((61 * 8000, 1), np.float32), 8000)), "the limit is 60 s"),
        (dict(operation="sing"), "unknown operation"),
        (dict(operation="vary", generation=replace(PROMPT, rerank=True)), "variations have none"),
    ],
)
def test_bad_edit_requests_are_refused_with_the_reason(engine_model, change, message) -> None:
    request = replace(EditRequest("transfer", tone_clip(16000, 1.0, 1), PROMPT), **change)
    with pytest.raises(EngineError, match=message):
        engine_model.edit(request)


def test_a_full_published_clap_embeds_audio_as_transformers_does(full_clap_model) -> None:
    """text_encoder/ as a whole ClapModel: its audio branch (HTSAT, 48 kHz features) drives variations."""
    from scipy.signal import resample_poly
    from transformers import ClapFeatureExtractor

    model = full_clap_model
    clip = tone_clip(16000, 1.5, 2)
    waveform = torch.from_numpy(clip.audio.T.copy())
    ours = model.model.conditioner.embed_audio(waveform)

    extractor = ClapFeatureExtractor.from_pretrained(model.model_id + "/feature_extractor")
    at_48k = [resample_poly(channel, 3, 1) for channel in clip.audio.T]
    features = extractor(at_48k, sampling_rate=48000, return_tensors="pt")
    with torch.no_grad():
        output = model.model.conditioner.text_encoder.model.get_audio_features(**features)
    expected = torch.nn.functional.normalize(getattr(output, "pooler_output", output), dim=-1)
    assert ours.shape == (2, 16)
    assert torch.allclose(ours, expected, atol=1e-3)
    assert not torch.allclose(ours[0], ours[1], atol=1e-3)

    [variation] = model.edit(EditRequest("vary", clip, replace(PROMPT, prompt="")))
    assert variation.audio.shape == clip.audio.shape
    ranked = model.generate(replace(PROMPT, duration_s=0.5, variations=2, rerank=True))
    assert all(-1 <= result.score <= 1 for result in ranked)
