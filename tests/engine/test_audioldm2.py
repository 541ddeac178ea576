"""AudioLDM 2 against diffusers' AudioLDM2Pipeline (the reference), on a tiny random checkpoint that the
tests build in the published layout: whole pipeline, and each part (projection, LOA states, UNet)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from soundloom.engine import EngineError, GenerationRequest
from soundloom.engine.checkpoints import load_module
from soundloom.engine.models.unet import UNet, UNetConfig
from soundloom.engine.parts.conditioner import Streams
from soundloom.engine.parts.loa_conditioner import LOAConditioner

PROMPT = "a dog barks in the rain"


def relative(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def reference_audio(pipe, sampler: str, **call) -> np.ndarray:
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    scheduler = DDIMScheduler if sampler == "ddim" else DPMSolverMultistepScheduler
    pipe.scheduler = scheduler.from_config(pipe.scheduler.config)
    return pipe(**call).audios


def ours_and_reference(model, pipe, request: GenerationRequest) -> tuple[np.ndarray, np.ndarray, list]:
    results = model.generate(request)
    want = reference_audio(
        pipe,
        request.sampler,
        prompt=request.prompt,
        negative_prompt=request.negative_prompt or None,
        audio_length_in_s=request.duration_s,
        num_inference_steps=request.steps,
        guidance_scale=request.guidance_scale,
        num_waveforms_per_prompt=request.variations,
        generator=torch.Generator("cpu").manual_seed(request.seed),
    )
    return np.stack([result.audio for result in results]), want, results


def test_the_family_is_recognised_from_the_folder(audioldm2_model) -> None:
    model = audioldm2_model.model
    assert isinstance(model.conditioner, LOAConditioner) and model.denoiser.cross_attention
    assert model.conditioner.language_model.new_tokens == 8
    assert model.native_duration_s == pytest.approx(0.32)  # sample_size 16 x VAE factor 2 x 10 ms


@pytest.mark.parametrize(
    ("sampler", "negative", "variations", "duration_s"),
    [
        ("ddim", "", 1, 0.64),
        ("ddim", "traffic", 1, 1.0),
        ("dpm++", "", 3, 0.64),
        ("dpm++", "hum", 3, 1.0),
    ],
)
def test_waveforms_equal_diffusers_pipeline(
    audioldm2_model, audioldm2_reference, sampler, negative, variations, duration_s
) -> None:
    request = GenerationRequest(
        PROMPT,
        negative_prompt=negative,
        duration_s=duration_s,
        steps=5,
        guidance_scale=3.0,
        seed=7,
        sampler=sampler,
        variations=variations,
        rerank=variations > 1,  # the reference always orders several waveforms by CLAP score
    )
    got, want, _ = ours_and_reference(audioldm2_model, audioldm2_reference, request)
    assert got.shape == want.shape == (variations, round(duration_s * 16000))
    assert relative(got, want) < 1e-4


def test_the_clap_order_is_really_exercised(audioldm2_model, audioldm2_reference) -> None:
    """A case where CLAP puts the variations out of their sampling order, and the reference agrees."""
    request = GenerationRequest(PROMPT, duration_s=0.64, steps=4, seed=3, variations=3, rerank=True)
    got, want, results = ours_and_reference(audioldm2_model, audioldm2_reference, request)
    assert [result.variation for result in results] != [1, 2, 3]
    assert relative(got, want) < 1e-4


def test_each_input_changes_the_sound(audioldm2_model) -> None:
    """Without this, equal waveforms could come from a pipeline that ignores its inputs."""
    base = GenerationRequest(PROMPT, negative_prompt="hum", duration_s=0.64, steps=4, seed=7)
    audio = audioldm2_model.generate(base)[0].audio
    for changed in (
        replace(base, prompt="glass shatters"),
        replace(base, negative_prompt="wind"),
        replace(base, seed=8),
        replace(base, guidance_scale=5.0),
    ):
        other = audioldm2_model.generate(changed)[0].audio
        assert np.abs(other - audio).max() > 1e-3 * np.abs(audio).max(), changed


def test_projection_equals_the_reference(tiny_audioldm2: Path, audioldm2_model) -> None:
    from diffusers import AudioLDM2ProjectionModel

    reference = AudioLDM2ProjectionModel.from_pretrained(tiny_audioldm2 / "projection_model").eval()
    torch.manual_seed(0)
    clap, text = torch.randn(2, 1, 16), torch.randn(2, 5, 32)
    clap_mask, text_mask = torch.ones(2, 1, dtype=torch.long), torch.tensor([[1] * 5, [1, 1, 1, 0, 0]])
    with torch.no_grad():
        want = reference(clap, text, attention_mask=clap_mask, attention_mask_1=text_mask)
        got, got_mask = audioldm2_model.model.conditioner.projection(clap, clap_mask, text, text_mask)
    assert got.shape == (2, 1 + 2 + 5 + 2, 16)
    torch.testing.assert_close(got, want.hidden_states, rtol=0, atol=1e-6)
    assert torch.equal(got_mask, want.attention_mask)


def test_loa_states_and_both_streams_equal_the_reference_for_a_batch_of_two(
    audioldm2_model, audioldm2_reference
) -> None:
    """Two prompts of different lengths in one batch: T5 pads the shorter, and GPT-2 sees that padding."""
    prompts = [PROMPT, "thunder"]
    with torch.no_grad():
        text, mask, loa = audioldm2_reference.encode_prompt(prompts, "cpu", 1, False)
    got = audioldm2_model.model.conditioner.encode_prompts(prompts)
    assert got.loa.shape == (2, 8, 16) and got.text.shape == text.shape
    assert torch.equal(got.text_mask, mask) and mask[1].sum() < mask[0].sum()
    torch.testing.assert_close(got.text, text, rtol=0, atol=1e-6)
    torch.testing.assert_close(got.loa, loa, rtol=0, atol=1e-5)


def test_guidance_streams_equal_the_reference(audioldm2_model, audioldm2_reference) -> None:
    request = GenerationRequest(PROMPT, negative_prompt="low hum", guidance_scale=3.0)
    with torch.no_grad():
        text, mask, loa = audioldm2_reference.encode_prompt(PROMPT, "cpu", 2, True, negative_prompt="low hum")
    cond, uncond = audioldm2_model.model.conditioner.conditions(request, batch=2)
    both = Streams(*(torch.cat(pair) for pair in zip(uncond, cond, strict=True)))  # as guidance batches them
    assert torch.equal(both.text_mask, mask)
    torch.testing.assert_close(both.text, text, rtol=0, atol=1e-6)
    torch.testing.assert_close(both.loa, loa, rtol=0, atol=1e-5)


def test_a_long_negative_prompt_keeps_every_word(audioldm2_model) -> None:
    """The reference cuts the negative prompt to the prompt's token count; we keep it, and padding the
    prompt's stream to match changes nothing the UNet computes."""
    negative = "distorted, muffled, low quality, background music, people talking"
    request = GenerationRequest("rain", negative_prompt=negative, guidance_scale=3.0)
    cond, uncond = audioldm2_model.model.conditioner.conditions(request, batch=1)
    negative_tokens = len(audioldm2_model.model.conditioner.text_encoder_2.tokenizer(negative)["input_ids"])
    assert int(uncond.text_mask.sum()) == negative_tokens > int(cond.text_mask.sum())
    short = audioldm2_model.model.conditioner.encode_prompts(["rain"])
    attended = cond._replace(text_mask=torch.ones_like(cond.text_mask))  # padding not masked
    latent = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        padded = audioldm2_model.model.denoiser(latent, torch.tensor(500), cond)
        unpadded = audioldm2_model.model.denoiser(latent, torch.tensor(500), short)
        if_attended = audioldm2_model.model.denoiser(latent, torch.tensor(500), attended)
    # Equal to float32 rounding (masked keys change the summation order, ~1e-6), while attending to the
    # padding would move the output by orders of magnitude more.
    torch.testing.assert_close(padded, unpadded, rtol=0, atol=1e-5)
    assert (if_attended - unpadded).abs().max() > 1e-3


def unet_pair(raw: dict) -> tuple[torch.nn.Module, UNet]:
    from diffusers import AudioLDM2UNet2DConditionModel

    torch.manual_seed(0)
    reference = AudioLDM2UNet2DConditionModel.from_config(raw).eval()
    ours = UNet(UNetConfig.from_dict(raw))
    load_module(ours, reference.state_dict(), "audioldm2 unet")
    return reference, ours


def unet_outputs(reference, ours, latent, loa, text, mask) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.tensor(801)
    with torch.no_grad():
        want = reference(
            latent, t, encoder_hidden_states=loa, encoder_hidden_states_1=text, encoder_attention_mask_1=mask
        ).sample
        got = ours(latent, t, contexts=(loa, text), context_masks=(None, mask))
    return got, want


def test_unet_with_both_streams_equals_the_reference(tiny_audioldm2: Path) -> None:
    raw = json.loads((tiny_audioldm2 / "unet" / "config.json").read_text())
    reference, ours = unet_pair(raw)
    latent = torch.randn(2, 4, 10, 16)  # 10 latent frames: not a multiple of the upsampling
    mask = torch.tensor([[1] * 7, [1, 1, 1, 1, 0, 0, 0]])
    got, want = unet_outputs(reference, ours, latent, torch.randn(2, 8, 16), torch.randn(2, 7, 32), mask)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    assert len(ours.down_blocks[1].attentions) == 3  # double self-attention, LOA stream, T5 stream


@pytest.mark.slow
def test_full_size_audioldm2_unet_step_equals_diffusers() -> None:
    """cvssp/audioldm2's published UNet config, random weights, one step on a 10.24 s latent."""
    from ..helpers.reference_checkpoint import PUBLISHED_CONFIGS

    raw = json.loads((PUBLISHED_CONFIGS / "audioldm2.unet.json").read_text())
    reference, ours = unet_pair(raw)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[0, 9:] = 0
    latent = torch.randn(2, 8, 256, 16)  # cond + uncond of one 10.24 s clip
    got, want = unet_outputs(reference, ours, latent, torch.randn(2, 8, 768), torch.randn(2, 12, 1024), mask)
    assert float((got - want).abs().max() / want.abs().max()) < 1e-4


def test_a_missing_language_model_is_named(tiny_audioldm2: Path, tmp_path: Path) -> None:
    import shutil

    from soundloom.engine.loader import load_model

    broken = Path(shutil.copytree(tiny_audioldm2, tmp_path / "no-gpt2"))
    shutil.rmtree(broken / "language_model")
    with pytest.raises(EngineError, match=r"component folder language_model/ is missing"):
        load_model(str(broken), device="cpu")


def test_a_folder_mixing_families_is_refused(
    tiny_audioldm2: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """An AudioLDM 2 index with AudioLDM's UNet (a class-embedding UNet, no text streams) inside."""
    import shutil

    from soundloom.engine.loader import load_model

    mixed = Path(shutil.copytree(tiny_audioldm2, tmp_path / "mixed"))
    shutil.rmtree(mixed / "unet")
    shutil.copytree(tiny_checkpoint / "unet", mixed / "unet")
    with pytest.raises(EngineError, match=r"unet/config.json.*AudioLDM 2"):
        load_model(str(mixed), device="cpu")


@pytest.mark.parametrize("sampler", ["ddim", "dpm++"])
def test_a_batch_of_two_prompts_equals_the_reference(audioldm2_model, audioldm2_reference, sampler) -> None:
    """Prompts of different lengths in one run: T5 pads the shorter, GPT-2 sees it, the seed's noise
    spans both; each result carries its own prompt."""
    prompts = [PROMPT, "thunder"]
    request = GenerationRequest("", negative_prompt="hum", duration_s=0.64, steps=4, seed=9, sampler=sampler)
    results = audioldm2_model.generate_prompts(prompts, request)
    want = reference_audio(
        audioldm2_reference,
        sampler,
        prompt=prompts,
        negative_prompt=["hum", "hum"],
        audio_length_in_s=0.64,
        num_inference_steps=4,
        guidance_scale=request.guidance_scale,
        generator=torch.Generator("cpu").manual_seed(9),
    )
    assert [result.request.prompt for result in results] == prompts
    assert relative(np.stack([result.audio for result in results]), want) < 1e-4
    # The first row has the seed's first noise and, being the longest prompt, no padding: a lone request.
    [alone] = audioldm2_model.generate(replace(request, prompt=PROMPT))
    np.testing.assert_allclose(alone.audio, results[0].audio, atol=1e-5)


@pytest.mark.parametrize("negative", ["", "noise"])
def test_speech_waveforms_equal_the_reference(speech_model, tiny_audioldm2_speech: Path, negative) -> None:
    """A speech checkpoint: VITS reads the transcript, learned positions, 16 LOA states."""
    from ..helpers.reference_audioldm2 import load_audioldm2_reference

    assert speech_model.model.conditioner.speech
    assert speech_model.model.conditioner.language_model.new_tokens == 16
    request = GenerationRequest(
        "a man speaks in a small room",
        negative_prompt=negative,
        transcript="hello there, sound designers",
        duration_s=0.64,
        steps=4,
        guidance_scale=3.0,
        seed=2,
    )
    [result] = speech_model.generate(request)
    want = reference_audio(
        load_audioldm2_reference(tiny_audioldm2_speech),
        request.sampler,
        prompt=request.prompt,
        transcription=request.transcript,
        negative_prompt=negative or None,
        audio_length_in_s=0.64,
        num_inference_steps=4,
        guidance_scale=3.0,
        generator=torch.Generator("cpu").manual_seed(2),
    )
    assert relative(result.audio[None], want) < 1e-4
    [other] = speech_model.generate(replace(request, transcript="something else entirely"))
    assert np.abs(other.audio - result.audio).max() > 1e-3 * np.abs(result.audio).max()


def test_transcripts_go_only_to_speech_checkpoints(speech_model, audioldm2_model, engine_model) -> None:
    with pytest.raises(EngineError, match=r"is a speech checkpoint: give the words to speak as a transcript"):
        speech_model.generate(GenerationRequest("a woman speaks", duration_s=0.64, steps=2))
    spoken = GenerationRequest("rain", transcript="hello", duration_s=0.64, steps=2)
    for model in (audioldm2_model, engine_model):
        with pytest.raises(EngineError, match=r"a transcript is for the AudioLDM 2 speech checkpoints"):
            model.generate(spoken)


def test_finetune_says_its_recipe_is_audioldms(tiny_audioldm2: Path) -> None:
    from soundloom.engine.training.ldm import finetune_parts

    with pytest.raises(
        EngineError, match=r"is an AudioLDM 2 checkpoint; finetune implements AudioLDM's recipe"
    ):
        finetune_parts(tiny_audioldm2)


def test_variations_of_a_clip_condition_on_its_clap_audio_embedding(audioldm2_model) -> None:
    """`vary` on AudioLDM 2: the clip's CLAP audio embedding replaces the text one in GPT-2's input."""
    from soundloom.engine import Clip, EditRequest
    from soundloom.engine.denoising import Start, denoise

    square = np.where(np.arange(16000) % 400 < 200, 0.5, -0.5).astype(np.float32)  # the model's own level
    clip = Clip(square[:, None], 16000)
    generation = GenerationRequest("", steps=4, seed=4, variations=2)
    results = audioldm2_model.edit(EditRequest("vary", clip, generation))
    with torch.inference_mode():
        model = audioldm2_model.model
        clap = model.conditioner.embed_audio(torch.from_numpy(clip.audio.T.copy())).repeat(2, 1)
        cond, uncond = model.conditioner.conditions(generation, 2, audio_embedding=clap)
        latent_frames = model.codec.frames_for(1.0)[0]
        noise, generator = model.initial_noise(4, 2, latent_frames)
        latent = denoise(model, generation, cond, uncond, Start(noise, generator))
        expected = model.codec.decode(latent)[:, :16000].numpy()
    np.testing.assert_allclose(np.stack([r.audio[:, 0] for r in results]), expected, atol=1e-5)
    text_only = audioldm2_model.model.conditioner.encode_prompts([""])
    assert not torch.allclose(cond.loa[:1], text_only.loa, atol=1e-4)  # the audio embedding was used


def test_loops_have_the_exact_length_asked_for_on_audioldm2(audioldm2_model) -> None:
    [result] = audioldm2_model.generate(GenerationRequest("rain", seed=1, steps=3, duration_s=1.3, loop=True))
    assert result.audio.shape == (20800,)
