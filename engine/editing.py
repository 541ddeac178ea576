"""The DAW editing operations on a loaded model: style transfer, inpainting, extend and variations.

All four are AudioLDM's zero-shot audio-to-audio methods around one sampler call (`denoising.denoise`),
written once over the model's parts:
- transfer: the clip's latent noised `strength` of the way up the schedule, then denoised with the prompt;
- inpaint: sampling from noise while the clip's latent, noised to each step's level, is re-injected
  outside a latent-time mask (AudioLDM paper, section 3.4; diffusers' inpainting step order);
- extend: inpainting a silent region appended to (the end of) the clip;
- vary: sampling from noise conditioned on the clip's CLAP audio embedding instead of a text embedding.

A DAW gets back what it sent: the clip's sample rate, channel count and length (extend: plus the new
seconds), sample-exact. Stereo: each channel is processed, as one batch with the same noise for both, so
the image stays coherent without collapsing to mono. Levels: the model hears each channel normalised to
AudioLDM's peak 0.5 and its output is scaled back by the same gain, so results sit at the clip's level
(a silent channel gets the model's own level). Inpainted and extended clips keep the original samples
outside the region and its crossfades, bit for bit.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
import torch

from .clip import Clip, equal_power_splice, fit_length, resample
from .denoising import Start, denoise
from .model import DiffusionModel
from .requests import EditRequest, GeneratedAudio
from .reranking import ranked
from .samplers.common import Progress
from .takes import choose_seed, close_loop

SILENT_PEAK = 1e-3  # -60 dBFS: below this a channel has no level to match


def run_edit(
    model: DiffusionModel, request: EditRequest, progress: Progress | None, cancel: threading.Event | None
) -> list[GeneratedAudio]:
    """One edit request -> `variations` results at the clip's rate and channel layout."""
    seed = choose_seed(request.generation.seed)
    ran = replace(request, generation=replace(request.generation, seed=seed))
    if request.operation == "extend":
        audios = _extend(model, ran, progress, cancel)
    else:
        audios = _edit_clip(model, ran, progress, cancel)
    results = [
        GeneratedAudio(audio, request.clip.sample_rate, ran, i + 1, model.model_id, model.licence)
        for i, audio in enumerate(audios)
    ]
    return ranked(model, request.generation, results)


def _edit_clip(
    model: DiffusionModel, request: EditRequest, progress: Progress | None, cancel: threading.Event | None
) -> list[np.ndarray]:
    """transfer, inpaint or vary the request's clip -> one (frames, channels) array per variation."""
    generation, clip = request.generation, request.clip
    channels, variations = clip.channels, generation.variations
    # (channels, samples) at the model's rate; the duration is the clip's, on the model's sample grid.
    codec = model.codec
    waveform = resample(clip.audio, clip.sample_rate, model.sample_rate).T.copy()
    model_samples = waveform.shape[1]
    latent_frames, _ = codec.frames_for(model_samples / model.sample_rate)
    peaks = np.abs(waveform - waveform.mean(axis=1, keepdims=True)).max(axis=1)  # (channels,)
    gains = np.where(peaks < SILENT_PEAK, 1.0, peaks / 0.5)  # undo AudioLDM's peak-0.5 normalisation

    batch = variations * channels  # variation-major: row v * channels + c
    noise, generator = model.initial_noise(generation.seed, variations, latent_frames)
    noise = noise.repeat_interleave(channels, dim=0)  # both channels of a variation share its noise
    if request.operation == "vary":
        embedding = model.conditioner.embed_audio(torch.from_numpy(waveform)).repeat(
            variations, 1
        )  # (batch, D)
        cond, uncond = model.conditioner.conditions(generation, batch, audio_embedding=embedding)
        start = Start(noise, generator)  # a variation starts from noise: only the embedding carries the clip
    else:
        cond, uncond = model.conditioner.conditions(generation, batch)
        clip_latent = codec.encode(torch.from_numpy(waveform)).repeat(variations, 1, 1, 1)
        strength = request.strength if request.operation == "transfer" else 1.0
        keep = None
        if request.operation == "inpaint":
            keep = _keep_mask(codec.latent_frame_s, request, latent_frames).to(model.device, model.dtype)
        start = Start(noise, generator, clip_latent, strength, keep)

    latent = denoise(model, generation, cond, uncond, start, progress, cancel)
    decoded = codec.decode(latent, circular=generation.loop).numpy()  # (batch, latent_frames * samples/frame)
    decoded = decoded.reshape(variations, channels, -1) * gains[None, :, None]

    outputs = []
    for audio in decoded:  # (channels, samples) at the model's rate
        if generation.loop:
            period = latent_frames * codec.samples_per_latent_frame
            # One period of the model's loop at 16 kHz becomes exactly the clip's frames at its rate.
            at_clip_rate = close_loop(audio.T, period, clip.frames)
        else:
            at_clip_rate = resample(
                audio[:, :model_samples].T, model.sample_rate, clip.sample_rate, clip.frames
            )
        if request.operation == "inpaint":
            at_clip_rate = _splice(clip, at_clip_rate, request)
        outputs.append(at_clip_rate)
    return outputs


def _keep_mask(frame_s: float, request: EditRequest, latent_frames: int) -> torch.Tensor:
    """(1, 1, T, 1): 0 on the latent frames the region and its crossfades touch, 1 elsewhere."""
    first = max(math.floor((request.start_s - request.fade_s) / frame_s), 0)
    last = min(math.ceil((request.end_s + request.fade_s) / frame_s), latent_frames)
    keep = torch.ones(1, 1, latent_frames, 1)
    keep[:, :, first:last] = 0
    return keep


def _splice(clip: Clip, new: np.ndarray, request: EditRequest) -> np.ndarray:
    rate = clip.sample_rate
    start, end = round(request.start_s * rate), round(request.end_s * rate)
    return equal_power_splice(clip.audio, new, start, end, round(request.fade_s * rate))


def _extend(
    model: DiffusionModel, request: EditRequest, progress: Progress | None, cancel: threading.Event | None
) -> list[np.ndarray]:
    """Continue the clip: inpaint silence appended to its last `native_duration_s` seconds of context."""
    clip, rate = request.clip, request.clip.sample_rate
    context = min(clip.frames, round(model.native_duration_s * rate))
    new_frames = round(request.extend_s * rate)
    window_audio = np.concatenate([clip.audio[-context:], np.zeros((new_frames, clip.channels), np.float32)])
    window = Clip(window_audio, rate, clip.source)
    inpaint = replace(
        request,
        operation="inpaint",
        clip=window,
        start_s=context / rate,
        end_s=(context + new_frames) / rate,
    )
    head = clip.audio[: clip.frames - context]
    return [
        fit_length(np.concatenate([head, tail]), clip.frames + new_frames)
        for tail in _edit_clip(model, inpaint, progress, cancel)
    ]
