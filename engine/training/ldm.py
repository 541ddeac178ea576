"""Training stages `ldm` and `finetune`: the latent diffusion UNet, exactly the AudioLDM recipe.

The UNet learns from audio alone: each clip's log-mel is encoded by the (frozen) VAE, noised at a random
timestep, and the UNet predicts the noise conditioned on the clip's own CLAP **audio** embedding. With
probability `cfg_dropout` the condition is replaced by the CLAP **text** embedding of the empty prompt,
which is what generation passes as the unconditional branch of classifier-free guidance. At generation
the condition is the CLAP **text** embedding of the prompt: both embeddings live in CLAP's joint space.

`ldm` starts a UNet from its config; `finetune` continues the UNet of a loaded checkpoint (published
layout) on a folder of the user's own, uncaptioned audio. Both export a complete checkpoint to RUN/model.
"""

from __future__ import annotations

import copy
import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F

from ..audio import MelConfig, normalize_waveform, waveform_to_mel
from ..checkpoints import checkpoint_family, load_component, read_json
from ..errors import EngineError
from ..local_engine import LocalEngine
from ..model import DiffusionModel
from ..models.clap_audio import AudioEncoder, AudioEncoderConfig
from ..models.unet import UNet, UNetConfig
from ..models.vae import AutoencoderKL, VAEConfig
from ..models.vocoder import HifiGan, VocoderConfig
from ..parts import Parts
from ..parts.clap_conditioner import ClapConditioner
from ..parts.codec import MelCodec
from ..parts.denoiser import UNetDenoiser
from ..parts.schedule import NoiseSchedule, ScheduleConfig, alphas_cumprod
from ..requests import GenerationRequest
from ..text import SentenceTextEncoder, load_text_encoder
from .data import ClipFolder
from .run import TrainingRun, check_schedule, export_component, learning_rate

AUDIOLDM_SCHEDULE = {
    "_class_name": "DDIMScheduler",
    "beta_start": 0.0015,
    "beta_end": 0.0195,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
}


def default_unet_config(projection_dim: int = 256, sample_size: int = 64) -> dict:
    """A 2-core-CPU sized AudioLDM UNet (diffusers UNet2DConditionModel config)."""
    channels = [48, 96, 128]
    return {
        "_class_name": "UNet2DConditionModel",
        "sample_size": sample_size,
        "in_channels": 8,
        "out_channels": 8,
        "block_out_channels": channels,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        "layers_per_block": 1,
        # No text cross-attention in AudioLDM: attn2 attends to the block itself, at the block width.
        "cross_attention_dim": channels,
        "attention_head_dim": 8,
        "norm_num_groups": 16,
        "class_embed_type": "simple_projection",
        "projection_class_embeddings_input_dim": projection_dim,
        "class_embeddings_concat": True,
    }


@dataclass
class LDMTraining:
    steps: int = 20000
    batch_size: int = 16
    learning_rate: float = 2e-4
    warmup_steps: int = 200
    lr_schedule: str = "constant"  # or "cosine": after warmup, decay to 0 at `steps`
    min_snr_gamma: float = 0.0  # > 0: Min-SNR-gamma loss weights (Hang et al. 2023); 0: plain MSE
    segment_s: float = 5.12
    cfg_dropout: float = 0.1  # AudioLDM's
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    sample_every: int = 2000
    sample_prompts: tuple[str, ...] = ("heavy rain", "a piano melody", "a man speaking")
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"  # or "bfloat16": autocast, weights stay float32
    unet: dict | None = None  # UNet config for `ldm`; None: default_unet_config() sized to the CLAP


@dataclass
class LDMParts:
    """Where the frozen components come from, and (finetune) the UNet to continue."""

    vae: Path
    vocoder: Path
    clap: Path  # a folder holding audio_encoder/ and text_encoder/
    unet: Path | None = None


def ldm_parts(vae: Path, vocoder: Path, clap: Path) -> LDMParts:
    """Parts for `ldm` from the other stages' outputs (their run folders or component folders)."""

    def component(path: Path, name: str) -> Path:
        folder = path / name if (path / name).is_dir() else path
        if not (folder / "config.json").is_file():
            raise EngineError(f"{path} holds no {name} component (no config.json); train that stage first")
        return folder

    for name in ("audio_encoder", "text_encoder"):
        if not (clap / name / "config.json").is_file():
            raise EngineError(f"{clap} holds no {name}/; point --clap at a `soundloom train clap` run")
    return LDMParts(component(vae, "vae"), component(vocoder, "vocoder"), clap)


def finetune_parts(checkpoint: Path) -> LDMParts:
    """Parts for `finetune` from a checkpoint folder in the published layout."""
    if checkpoint_family(checkpoint) == "audioldm2":
        raise EngineError(
            f"{checkpoint} is an AudioLDM 2 checkpoint; finetune implements AudioLDM's recipe (a UNet "
            "conditioned on the CLAP audio embedding through its class embedding), which does not "
            "apply to AudioLDM 2's UNet (GPT-2 and T5 streams); fine-tune an AudioLDM checkpoint"
        )
    if not (checkpoint / "audio_encoder").is_dir():
        raise EngineError(
            f"{checkpoint} ships only the CLAP text branch (no audio_encoder/), and fine-tuning on "
            "uncaptioned audio conditions on the CLAP audio embedding; use a checkpoint trained by "
            "soundloom (the default model, or `soundloom train ldm` output)"
        )
    return LDMParts(checkpoint / "vae", checkpoint / "vocoder", checkpoint, checkpoint / "unet")


def assemble_model_folder(model_dir: Path, parts: LDMParts) -> None:
    """Copy the frozen parts into RUN/model with the scheduler and model_index.json (once per run)."""
    if (model_dir / "model_index.json").is_file():
        return
    staging = model_dir.with_name(model_dir.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    sources = {"vae": parts.vae, "vocoder": parts.vocoder}
    sources |= {name: parts.clap / name for name in ("text_encoder", "audio_encoder")}
    if parts.unet is not None:
        sources["unet"] = parts.unet
    for name, source in sources.items():
        shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns("*.part", ".*"))
    (staging / "scheduler").mkdir()
    (staging / "scheduler" / "scheduler_config.json").write_text(json.dumps(AUDIOLDM_SCHEDULE, indent=2))
    index = {
        "_class_name": "AudioLDMPipeline",
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["soundloom", "SentenceEncoderWithProjection"],
        "audio_encoder": ["soundloom", "SoundloomClapAudioEncoder"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "vocoder": ["transformers", "SpeechT5HifiGan"],
    }
    (staging / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    shutil.rmtree(model_dir, ignore_errors=True)
    staging.rename(model_dir)


def snr_weights(alpha_bar: torch.Tensor, gamma: float) -> torch.Tensor:
    """(B,) alpha_bar_t -> (B,) loss weights. Min-SNR-gamma for noise prediction: min(SNR, gamma) / SNR.

    Nearly noise-free timesteps (SNR above gamma) are weighted down: their large noise-prediction losses
    otherwise dominate the gradient while the noisy steps, where a sound's category is decided, learn
    slowly. gamma 0 weights every timestep 1, AudioLDM's plain MSE.
    """
    if gamma <= 0:
        return torch.ones_like(alpha_bar)
    snr = alpha_bar / (1 - alpha_bar)
    return torch.clamp(snr, max=gamma) / snr


class LDMTrainer:
    """The frozen VAE, CLAP pair and vocoder, the UNet being trained, its EMA copy and one training step."""

    def __init__(self, model_dir: Path, settings: LDMTraining):
        self.settings = settings
        self.device = torch.device(settings.device)
        self.vae = load_component(model_dir / "vae", AutoencoderKL, VAEConfig, "diffusers").float()
        self.audio_encoder = load_component(
            model_dir / "audio_encoder", AudioEncoder, AudioEncoderConfig, "transformers"
        ).float()
        self.text_encoder = load_text_encoder(model_dir, allow_pickle=False)
        if not isinstance(self.text_encoder, SentenceTextEncoder):
            raise EngineError(f"{model_dir}: LDM training needs a soundloom CLAP pair (audio + text)")
        self.text_encoder.to(self.device, torch.float32)
        for module in (self.vae, self.audio_encoder):
            module.to(self.device)
        self.vocoder_dir = model_dir / "vocoder"
        self.vocoder: HifiGan | None = None  # only previews need it
        torch.manual_seed(settings.seed)
        if (model_dir / "unet" / "config.json").is_file():  # finetune: continue the checkpoint's UNet
            self.unet = load_component(model_dir / "unet", UNet, UNetConfig, "diffusers").float()
            self.unet_config = read_json(model_dir / "unet" / "config.json")
        else:
            projection_dim = self.audio_encoder.config.projection_dim
            self.unet_config = settings.unet or default_unet_config(projection_dim)
            self.unet = UNet(UNetConfig.from_dict(self.unet_config))
        self.unet.to(self.device).requires_grad_(True).train()
        self.ema = copy.deepcopy(self.unet).requires_grad_(False).eval()
        self.optimizer = torch.optim.AdamW(
            self.unet.parameters(), lr=settings.learning_rate, weight_decay=0.01
        )
        self.schedule = ScheduleConfig.from_dict(AUDIOLDM_SCHEDULE)
        self.alphas_cumprod = alphas_cumprod(self.schedule).to(self.device)
        self.mel_config = MelConfig()
        factor = self.vae.config.downsample_factor
        frames = round(settings.segment_s * self.mel_config.sample_rate / self.mel_config.hop_length)
        self.mel_frames = frames // factor * factor
        self.samples = self.mel_frames * self.mel_config.hop_length
        with torch.no_grad():
            self.unconditional = self.text_encoder.encode([""])  # (1, D): the CFG "no prompt" embedding
        self.step_count = 0  # set by the run loop (resume) before training

    @torch.no_grad()
    def encode(self, waves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, samples) waveforms -> the frozen parts' view of each clip, all deterministic:
        VAE posterior mean and log-variance (B, C, T, F) and the CLAP audio embedding (B, D), unit length.
        """
        mel = waveform_to_mel(normalize_waveform(waves), self.mel_config)[:, : self.mel_frames].to(
            self.device
        )  # (B, mel_frames, mel_bins)
        mean, logvar = self.vae.encode(mel.unsqueeze(1))
        return mean, logvar, F.normalize(self.audio_encoder(mel), dim=-1)

    def conditions(self, audio: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        """(B, D) CLAP audio embeddings, (B,) bool -> (B, D): audio embedding, or text("") where dropped."""
        return torch.where(drop[:, None], self.unconditional.expand_as(audio), audio)

    def step(self, waves: torch.Tensor, generator: np.random.Generator) -> float:
        """One optimisation step on (B, samples) waveforms; returns the noise-prediction MSE."""
        return self.step_encoded(*self.encode(waves), generator)

    def step_encoded(
        self,
        mean: torch.Tensor,
        logvar: torch.Tensor,
        audio: torch.Tensor,
        generator: np.random.Generator,
    ) -> float:
        """One optimisation step from `encode`'s output (posterior (B, C, T, F) x2, embedding (B, D))."""
        settings = self.settings
        batch = mean.shape[0]
        with torch.no_grad():  # a fresh posterior sample every step, as training on waveforms draws
            latent = (
                mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
            ) * self.vae.config.scaling_factor
        drop = torch.from_numpy(generator.random(batch) < settings.cfg_dropout).to(self.device)
        condition = self.conditions(audio, drop)
        t = torch.from_numpy(generator.integers(0, self.schedule.num_train_timesteps, batch)).to(self.device)
        noise = torch.randn_like(latent)
        alpha = self.alphas_cumprod[t].view(-1, 1, 1, 1)
        noisy = alpha.sqrt() * latent + (1 - alpha).sqrt() * noise
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(settings, self.step_count)
        autocast = torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=settings.dtype == "bfloat16"
        )
        with autocast:
            prediction = self.unet(noisy, t, class_condition=condition)
        per_example = (prediction.float() - noise).pow(2).mean(dim=(1, 2, 3))  # (B,)
        loss = (snr_weights(alpha.flatten(), settings.min_snr_gamma) * per_example).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.unet.parameters(), 1.0)
        self.optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(
                list(self.ema.parameters()), list(self.unet.parameters()), 1.0 - settings.ema_decay
            )
        self.step_count += 1
        return loss.item()

    def pipeline(self) -> LocalEngine:
        """The model around the EMA UNet, for previews (the parts as they are: nothing is moved)."""
        if self.vocoder is None:  # loaded at the first preview, then kept
            vocoder = load_component(self.vocoder_dir, HifiGan, VocoderConfig, "transformers")
            self.vocoder = vocoder.float().to(self.device)
        codec = MelCodec(self.vae, self.vocoder, self.device, torch.float32)
        conditioner = ClapConditioner(self.text_encoder, codec.mel_config, torch.float32, model_id="training")
        parts = Parts(
            codec, conditioner, UNetDenoiser(self.ema, False), NoiseSchedule.from_config(self.schedule)
        )
        return LocalEngine(DiffusionModel(parts, "training", self.device, torch.float32))


class EncodedClips:
    """Every training window's VAE posterior and CLAP audio embedding, computed once by the frozen parts.

    Both are deterministic functions of the audio, so computing them once per run changes nothing but
    speed (on 2 CPU cores the frozen encoders cost more than the UNet step): every step still draws a
    fresh posterior sample, dropout and timestep. A clip gives one window per `samples` of its length
    (at most MAX_WINDOWS, the last zero-padded), so long files are covered, not just their first seconds.
    """

    MAX_WINDOWS = 16
    CHUNK = 32  # windows encoded at a time, to bound memory

    def __init__(self, trainer: LDMTrainer, data: ClipFolder):
        windows = [
            (index, start)
            for index, clip in enumerate(data.clips)
            for start in range(0, len(clip), trainer.samples)[: self.MAX_WINDOWS]
        ]
        means, logvars, audios = [], [], []
        for first in range(0, len(windows), self.CHUNK):
            waves = np.zeros((len(windows[first : first + self.CHUNK]), trainer.samples), np.float32)
            for row, (index, start) in enumerate(windows[first : first + self.CHUNK]):
                piece = data.clips[index][start : start + trainer.samples]
                waves[row, : len(piece)] = piece
            mean, logvar, audio = trainer.encode(torch.from_numpy(waves))
            means.append(mean)
            logvars.append(logvar)
            audios.append(audio)
        self.mean = torch.cat(means)  # (windows, C, T, F)
        self.logvar = torch.cat(logvars)  # (windows, C, T, F)
        self.audio = torch.cat(audios)  # (windows, D), unit length

    def __len__(self) -> int:
        return len(self.mean)

    def batch(
        self, batch_size: int, generator: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index = torch.from_numpy(generator.integers(len(self), size=batch_size))
        return self.mean[index], self.logvar[index], self.audio[index]


def train_ldm(
    data_dir: Path,
    run_dir: Path,
    settings: LDMTraining,
    parts: LDMParts,
    progress: Callable[[int, int, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Train (or resume) the UNet in `run_dir`; returns the complete checkpoint `run_dir / "model"`."""
    if settings.batch_size < 1 or not 0 <= settings.cfg_dropout < 1:
        raise EngineError("batch size must be 1 or more and cfg dropout in [0, 1)")
    check_schedule(settings.lr_schedule)
    if settings.min_snr_gamma < 0:
        raise EngineError(f"min-SNR gamma must be 0 (off) or more (got {settings.min_snr_gamma:g})")
    data = ClipFolder(data_dir)
    model_dir = run_dir / "model"
    assemble_model_folder(model_dir, parts)
    trainer = LDMTrainer(model_dir, settings)
    run = TrainingRun(
        run_dir,
        "ldm",
        {"unet": trainer.unet_config},
        {"unet": trainer.unet, "ema": trainer.ema},
        {"unet": trainer.optimizer},
        settings.seed,
    )
    trainer.step_count = run.step
    trainer.ema.eval()

    # A run already at or past `steps` (stopped early, then asked for what it reached) only exports.
    encoded = EncodedClips(trainer, data) if run.step < settings.steps else None

    def train_step(rng: np.random.Generator) -> float:
        return trainer.step_encoded(*encoded.batch(settings.batch_size, rng), rng)

    run.run(
        settings.steps,
        train_step,
        "LDM: noise-prediction MSE"
        + (f", Min-SNR-{settings.min_snr_gamma:g} weighted" if settings.min_snr_gamma else ""),
        settings.checkpoint_every,
        settings.sample_every,
        preview=lambda step: _write_previews(trainer, run_dir / "samples", step),
        progress=progress,
        cancel=cancel,
    )
    export_component(
        model_dir / "unet", trainer.ema, trainer.unet_config, "diffusion_pytorch_model.safetensors"
    )
    return model_dir


def _write_previews(trainer: LDMTrainer, folder: Path, step: int) -> None:
    pipeline = trainer.pipeline()
    folder.mkdir(parents=True, exist_ok=True)
    for number, prompt in enumerate(trainer.settings.sample_prompts):
        request = GenerationRequest(prompt=prompt, steps=25, guidance_scale=3.0, seed=number)
        result = pipeline.generate(request)[0]
        sf.write(folder / f"step{step:07d}_{number}.wav", result.audio, result.sample_rate, subtype="FLOAT")
    trainer.ema.eval()
