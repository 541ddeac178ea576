"""AudioLDM text-to-audio: CLAP text embedding -> UNet sampling in the VAE latent -> mel -> HiFi-GAN.

Load once (`load_model`, which picks AudioLDM or AudioLDM 2 from the checkpoint), keep it on its device,
call `generate` with a GenerationRequest. Calls are serialised by a lock, so one worker thread at a time
may use a loaded model. AudioLDM 2 (`audioldm2.py`) changes only how a prompt becomes the UNet's
condition (`conditions` and `run_unet`); everything else here serves both families.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .audio import MelConfig, normalize_waveform, waveform_to_mel
from .checkpoints import checkpoint_family, load_component, resolve_checkpoint
from .clip import resample
from .conditions import Condition
from .core import decode_dtype, load_core, place_core
from .device import on_device, resolve_device, resolve_dtype
from .editing import run_edit
from .errors import EngineError
from .licence import Licence, folder_licence
from .models.clap_audio import AudioEncoder, AudioEncoderConfig
from .models.unet import UNet
from .models.vae import AutoencoderKL
from .models.vocoder import HifiGan
from .preview import Previewer, PreviewSink, cheap_bfloat16, preview_waveform
from .requests import EditRequest, GeneratedAudio, GenerationRequest
from .sampling import Denoised, Progress, Start, circular, guided, sample_ddim, sample_dpmpp_2m
from .schedule import ScheduleConfig, alphas_cumprod, ddim_timesteps, dpm_timesteps
from .takes import choose_seed, close_loop, ranked
from .text import TextEncoder, load_text_encoder


class AudioLDM:
    family = "audioldm"

    def __init__(
        self,
        unet: UNet,
        vae: AutoencoderKL,
        vocoder: HifiGan,
        text_encoder: TextEncoder,
        schedule: ScheduleConfig,
        model_id: str,
        device: torch.device,
        dtype: torch.dtype,
        audio_encoder: AudioEncoder | None = None,
        licence: Licence = Licence(),  # noqa: B008 (frozen: one shared 'unknown' is safe)
    ):
        self.unet, self.vae, self.vocoder, self.text_encoder = unet, vae, vocoder, text_encoder
        self.audio_encoder = audio_encoder  # CLAP's audio branch: published AudioLDM v1 ships none
        self.schedule = schedule
        self.alphas_cumprod = alphas_cumprod(schedule)
        self.model_id, self.device, self.dtype = model_id, device, dtype
        self.licence = licence  # from the checkpoint's model card (engine/licence.py)
        self.vae_factor = vae.config.downsample_factor
        self.mel_config = MelConfig(
            sample_rate=vocoder.config.sampling_rate,
            mel_bins=vocoder.config.model_in_dim,
            hop_length=vocoder.config.hop_length,
        )
        self._lock = threading.Lock()
        self._weights_mb: float | None = None
        self._preview_costs: dict[tuple[int, ...], float] = {}  # seconds a preview took, by latent shape

    @classmethod
    def load(
        cls, model: str, device: str = "auto", dtype: str = "float32", allow_pickle: bool = False
    ) -> AudioLDM:
        """Load a checkpoint of this class's family (`loader.load_model` takes either family)."""
        folder = resolve_checkpoint(model, allow_pickle)
        family = checkpoint_family(folder)
        if family != cls.family:
            raise EngineError(f"{model} is an {family} checkpoint, not {cls.family}; use load_model")
        where = resolve_device(device)
        return cls.load_folder(folder, model, where, resolve_dtype(dtype, where), allow_pickle)

    @classmethod
    def load_folder(
        cls, folder: Path, model_id: str, device: torch.device, dtype: torch.dtype, allow_pickle: bool
    ) -> AudioLDM:
        unet, vae, vocoder, schedule = load_core(folder, allow_pickle, cls.family)
        place_core(unet, vae, vocoder, device, dtype)
        text_encoder = load_text_encoder(folder, allow_pickle).to(device, dtype)
        audio_encoder = None
        if (folder / "audio_encoder").is_dir():
            audio_encoder = load_component(
                folder / "audio_encoder", AudioEncoder, AudioEncoderConfig, "transformers", allow_pickle
            )
            audio_encoder.to(device=device, dtype=dtype)
        licence = folder_licence(folder, model_id)
        return cls(
            unet, vae, vocoder, text_encoder, schedule, model_id, device, dtype, audio_encoder, licence
        )

    def modules(self) -> list[torch.nn.Module]:
        """Every network that holds weights (for counting them)."""
        encoders = [getattr(self.text_encoder, name, None) for name in ("model", "base", "projection")]
        return [
            module
            for module in [self.unet, self.vae, self.vocoder, self.audio_encoder, *encoders]
            if isinstance(module, torch.nn.Module)
        ]

    def status(self) -> dict[str, str | float]:
        """Plain facts for a status line: where the model runs, its weights' size, the GPU's allocation."""
        if self._weights_mb is None:  # asked often (a window's status bar); the weights do not change
            self._weights_mb = (
                sum(
                    parameter.numel() * parameter.element_size()
                    for module in self.modules()
                    for parameter in module.parameters()
                )
                / 2**20
            )
        facts: dict[str, str | float] = {
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "weights_mb": self._weights_mb,
        }
        if self.device.type == "cuda":
            facts["allocated_mb"] = torch.cuda.memory_allocated(self.device) / 2**20
        return facts

    @property
    def sample_rate(self) -> int:
        return self.vocoder.config.sampling_rate

    @property
    def seconds_per_mel_frame(self) -> float:
        # Written as the reference pipeline writes it; the float rounding decides the frame count below.
        return float(np.prod(self.vocoder.config.upsample_rates) / self.vocoder.config.sampling_rate)

    @property
    def native_duration_s(self) -> float:
        return self.unet.config.sample_size * self.vae_factor * self.seconds_per_mel_frame

    def frames_for(self, duration_s: float) -> tuple[int, int]:
        """(mel_frames, samples) for a duration: frames rounded up to the VAE factor; trim to samples."""
        min_duration = self.seconds_per_mel_frame * self.vae_factor
        if duration_s < min_duration:
            raise EngineError(
                f"duration must be at least {min_duration:g} s for this model, got {duration_s:g}"
            )
        mel_frames = int(duration_s / self.seconds_per_mel_frame)
        mel_frames = math.ceil(mel_frames / self.vae_factor) * self.vae_factor
        return mel_frames, int(duration_s * self.sample_rate)

    @torch.inference_mode()
    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) prompts -> (B, projection_dim) L2-normalised CLAP text embeddings in the model dtype."""
        return self.text_encoder.encode(texts).to(self.dtype)

    @torch.inference_mode()
    def decode_latent(self, latent: torch.Tensor, circular: bool = False) -> torch.Tensor:
        """Scaled latent (B, C, T, F) -> waveform (B, T * f * hop samples), float32 on the CPU.

        `circular` decodes the latent as one period of a loop: three copies are decoded together and
        the middle one kept, so the VAE and the vocoder see the loop's own wrap-around at both ends.
        """
        if circular:
            period = latent.shape[2] * self.vae_factor * self.mel_config.hop_length
            return self.decode_latent(torch.cat([latent] * 3, dim=2))[:, period : 2 * period]
        latent = (latent / self.vae.config.scaling_factor).to(decode_dtype(self.dtype))
        mel = self.vae.decode(latent)  # (B, 1, mel_frames, mel_bins)
        return self.vocoder.vocode(mel.squeeze(1).float()).cpu()  # the vocoder is always float32 (core.py)

    @torch.inference_mode()
    def encode_waveform(self, waveform: torch.Tensor) -> torch.Tensor:
        """Waveform (B, samples) at the model's rate -> scaled posterior-mean latent (B, C, T, F).

        The clip is normalised as in AudioLDM's training and its log-mel fitted to the frame count a
        generation of the same duration would have (padding is silence), so encode/decode round-trips.
        """
        mel_frames, _ = self.frames_for(waveform.shape[-1] / self.sample_rate)
        mel = waveform_to_mel(normalize_waveform(waveform.float()), self.mel_config)  # (B, frames, mel_bins)
        if mel.shape[1] >= mel_frames:
            mel = mel[:, :mel_frames]
        else:
            silence = math.log(self.mel_config.log_floor)
            mel = torch.nn.functional.pad(mel, (0, 0, 0, mel_frames - mel.shape[1]), value=silence)
        mean, _ = self.vae.encode(mel.unsqueeze(1).to(self.device, decode_dtype(self.dtype)))
        return (mean * self.vae.config.scaling_factor).to(self.dtype)

    @torch.inference_mode()
    def encode_audio(self, waveform: torch.Tensor) -> torch.Tensor:
        """Waveform (B, samples) at the model's rate -> (B, D) L2-normalised CLAP audio embeddings."""
        if getattr(self.text_encoder, "feature_extractor", None) is not None:  # a full published ClapModel
            return self.text_encoder.encode_audio(waveform, self.sample_rate).to(self.dtype)
        if self.audio_encoder is None:
            raise EngineError(
                f"{self.model_id} ships only CLAP's text branch (ClapTextModelWithProjection, no audio "
                "branch), so it cannot embed audio: variations and re-ranking need CLAP's audio branch. "
                "Use the built-in model, one trained with `soundloom train`, or a checkpoint whose "
                "text_encoder/ is a full ClapModel"
            )
        mel = waveform_to_mel(normalize_waveform(waveform.float()), self.mel_config)  # (B, frames, mel_bins)
        embedding = self.audio_encoder(mel.to(self.device, self.dtype))
        return torch.nn.functional.normalize(embedding.float(), dim=-1).to(self.dtype)

    def generate(
        self,
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[GeneratedAudio]:
        """Run one request: `request.variations` clips of the same prompt, from one seed. `preview`, when
        given, hears rough versions of the first take while it is denoised (see preview.py)."""
        return self.generate_prompts([request.prompt], request, progress, cancel, preview)

    def generate_prompts(
        self,
        prompts: list[str],
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[GeneratedAudio]:
        """One batched run of `request` for each prompt: prompt-major results, each with its own prompt.

        The seed's noise covers the whole batch (len(prompts) x variations), as the reference pipelines
        draw it for a list of prompts, so the first prompt's takes equal a single request's (on AudioLDM 2
        when it is the longest: T5 pads shorter prompts to the longest, and GPT-2 hears that padding).
        """
        problems = [
            problem for prompt in prompts for problem in replace(request, prompt=prompt).problems()
        ] + self.request_problems(request)
        if not prompts:
            problems.append("no prompts given")
        if problems:
            raise EngineError("; ".join(dict.fromkeys(problems)))
        with self._lock, torch.inference_mode(), on_device(self.device, self.dtype):
            return self._generate(request, prompts, progress, cancel, preview)

    def edit(
        self,
        request: EditRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> list[GeneratedAudio]:
        """Transfer, inpaint, extend or vary a clip (see `editing.py`); results at the clip's rate."""
        problems = request.problems() + self.request_problems(request.generation)
        if problems:
            raise EngineError("; ".join(problems))
        with self._lock, torch.inference_mode(), on_device(self.device, self.dtype):
            return run_edit(self, request, progress, cancel)

    def request_problems(self, request: GenerationRequest) -> list[str]:
        """What this checkpoint cannot do with a valid request (requests.py checks the request itself)."""
        if request.transcript:
            return [
                "a transcript is for the AudioLDM 2 speech checkpoints (anhnct/audioldm2_gigaspeech, "
                f"_ljspeech); {self.model_id} is not one: put everything into the prompt"
            ]
        return []

    def _generate(
        self,
        request: GenerationRequest,
        prompts: list[str],
        progress: Progress | None,
        cancel: threading.Event | None,
        preview: PreviewSink | None = None,
    ) -> list[GeneratedAudio]:
        seed = choose_seed(request.seed)
        duration_s = request.duration_s if request.duration_s is not None else self.native_duration_s
        mel_frames, samples = self.frames_for(duration_s)
        batch = len(prompts) * request.variations
        cond, uncond = self.conditions(request, batch, prompts=prompts)
        start = Start(*self.initial_noise(seed, batch, mel_frames // self.vae_factor))
        previewer = None
        if preview is not None:
            bfloat16 = cheap_bfloat16(self.device)
            previewer = Previewer(
                lambda x0: preview_waveform(self.vae, x0, self.mel_config, samples, bfloat16),
                preview,
                known_cost=self._preview_costs.get(tuple(start.noise.shape)),
            )
        latent = self.denoise(request, cond, uncond, start, progress, cancel, previewer)
        if previewer is not None and previewer.last_cost is not None:
            self._preview_costs[tuple(start.noise.shape)] = previewer.last_cost
        waveforms = self.decode_latent(latent, circular=request.loop).numpy()  # (batch, >= samples)
        if request.loop:
            period = mel_frames * self.mel_config.hop_length
            waveforms = np.stack([close_loop(wave, period, samples) for wave in waveforms])
        waveforms = waveforms[:, :samples].reshape(len(prompts), request.variations, -1)

        results = []
        for prompt, prompt_waveforms in zip(prompts, waveforms, strict=True):
            ran = replace(request, prompt=prompt, seed=seed, duration_s=duration_s)
            takes = [
                GeneratedAudio(
                    audio=waveform.copy(),
                    sample_rate=self.sample_rate,
                    request=ran,
                    variation=i + 1,
                    model_id=self.model_id,
                    licence=self.licence,
                )
                for i, waveform in enumerate(prompt_waveforms)
            ]
            results += ranked(self, ran, takes)
        return results

    def conditions(
        self,
        request: GenerationRequest,
        batch: int,
        clap: torch.Tensor | None = None,
        prompts: list[str] | None = None,
    ) -> tuple[Condition, Condition | None]:
        """(cond, uncond): the prompts' and the negative prompt's embeddings, (batch, D) each.

        `prompts` (default: the request's) share the batch prompt-major; `clap` (batch, D), CLAP audio
        embeddings, takes the prompt's place (variations of a clip). uncond is None when guidance is off:
        guidance at scale 1 is a no-op and the reference skips it below 1 too, so the UNet then runs
        once per step.
        """
        prompts = prompts or [request.prompt]
        use_guidance = request.guidance_scale > 1.0
        texts = ([request.negative_prompt] if use_guidance else []) + (prompts if clap is None else [])
        embeddings = self.encode_text(texts) if texts else None  # (0 to 1 + P, D)
        uncond = embeddings[:1].repeat(batch, 1) if use_guidance else None
        if clap is not None:
            return clap, uncond
        per_prompt = batch // len(prompts)
        return embeddings[-len(prompts) :].repeat_interleave(per_prompt, dim=0), uncond

    def run_unet(self, latent: torch.Tensor, t: torch.Tensor, condition: Condition) -> torch.Tensor:
        """One denoiser call: AudioLDM's condition is the CLAP embedding, through the class embedding."""
        return self.unet(latent, t, class_condition=condition)

    def initial_noise(
        self, seed: int, batch: int, latent_frames: int
    ) -> tuple[torch.Tensor, torch.Generator]:
        """(batch, C, latent_frames, F) standard normal noise from the seed, and the seed's generator.

        Drawn on the CPU in the model dtype, as diffusers' randn_tensor does: same seed, same sound. The
        generator goes on to DDIM's eta > 0 noise, as in diffusers.
        """
        generator = torch.Generator("cpu").manual_seed(seed)
        shape = (
            batch,
            self.unet.config.in_channels,
            latent_frames,
            self.vocoder.config.model_in_dim // self.vae_factor,
        )
        return torch.randn(shape, generator=generator, dtype=self.dtype).to(self.device), generator

    def denoise(
        self,
        request: GenerationRequest,
        cond: Condition,
        uncond: Condition | None,
        start: Start,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        denoised: Denoised | None = None,
    ) -> torch.Tensor:
        """Sample a latent (B, C, T, F) with the request's sampler from `start` (see Start)."""
        model = guided(self.run_unet, cond, uncond, request.guidance_scale)
        if request.loop:
            model = circular(model, 2 ** (len(self.unet.config.block_out_channels) - 1))
        sampler_timesteps = ddim_timesteps if request.sampler == "ddim" else dpm_timesteps
        timesteps = sampler_timesteps(self.schedule, request.steps)
        # diffusers' img2img rule: strength s runs the last int(steps * s) steps of the schedule.
        first_step = len(timesteps) - min(int(request.steps * start.strength), len(timesteps))
        if start.strength >= 1.0 or start.clip_latent is None:
            latent = start.noise
        elif first_step == len(timesteps):
            return start.clip_latent  # strength 0: the clip's own latent, untouched
        else:
            latent = self.add_noise(start.clip_latent, start.noise, int(timesteps[first_step]))
        after_step = None
        if start.keep is not None:

            def after_step(i: int, latent: torch.Tensor) -> torch.Tensor:
                # Re-inject the known region, noised to the level the next step starts from (clean after
                # the last), so the regenerated region is always denoised in its true context.
                known = start.clip_latent
                if i + 1 < len(timesteps):
                    known = self.add_noise(known, start.noise, int(timesteps[i + 1]))
                return start.keep * known + (1 - start.keep) * latent

        shared = dict(
            steps=request.steps,
            callback=progress,
            cancel=cancel,
            first_step=first_step,
            after_step=after_step,
            denoised=denoised,
        )
        if request.sampler == "ddim":
            return sample_ddim(
                model,
                latent,
                self.schedule,
                self.alphas_cumprod,
                eta=request.eta,
                generator=start.generator,
                **shared,
            )
        return sample_dpmpp_2m(model, latent, self.schedule, self.alphas_cumprod, **shared)

    def add_noise(self, clean: torch.Tensor, noise: torch.Tensor, t: int) -> torch.Tensor:
        """The forward process q(x_t | x_0): sqrt(alpha_bar_t) * clean + sqrt(1 - alpha_bar_t) * noise."""
        alpha_bar = self.alphas_cumprod[t]
        return (alpha_bar**0.5 * clean.float() + (1 - alpha_bar) ** 0.5 * noise.float()).to(clean.dtype)

    @torch.inference_mode()
    def rerank(self, request: GenerationRequest, results: list[GeneratedAudio]) -> list[GeneratedAudio]:
        """Score each result by CLAP text-audio cosine similarity (channels averaged); best first."""
        text = self.encode_text([request.prompt]).float()  # (1, D)
        for result in results:
            frames = result.audio.reshape(len(result.audio), -1)  # (samples, channels)
            at_model_rate = resample(frames, result.sample_rate, self.sample_rate).T  # (channels, samples)
            audio = self.encode_audio(torch.from_numpy(np.ascontiguousarray(at_model_rate))).float()
            result.score = float((audio @ text.T).mean())
        return sorted(results, key=lambda result: -result.score)
