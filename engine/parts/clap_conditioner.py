"""AudioLDM's conditioner: the prompt's CLAP text embedding (B, D), L2-normalised, through the UNet's
class embedding. A clip (variations) is conditioned on through its CLAP audio embedding instead, in the
same joint space: from a full published ClapModel's audio branch, or the built-in model's own audio
encoder (published AudioLDM v1 checkpoints ship neither).
"""

from __future__ import annotations

import torch

from ..audio import MelConfig, normalize_waveform, waveform_to_mel
from ..errors import EngineError
from ..models.clap_audio import AudioEncoder
from ..requests import GenerationRequest
from ..text import TextEncoder
from .conditioner import Condition


class ClapConditioner:
    def __init__(
        self,
        text_encoder: TextEncoder,
        mel_config: MelConfig,
        dtype: torch.dtype,
        audio_encoder: AudioEncoder | None = None,
        model_id: str = "",
    ):
        self.text_encoder, self.audio_encoder = text_encoder, audio_encoder
        self.mel_config, self.dtype, self.model_id = mel_config, dtype, model_id
        self.sample_rate = mel_config.sample_rate

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(B,) prompts -> (B, projection_dim) L2-normalised CLAP text embeddings in the model dtype."""
        return self.text_encoder.encode(texts).to(self.dtype)

    @torch.inference_mode()
    def embed_audio(self, waveform: torch.Tensor) -> torch.Tensor:
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
        weights = next(self.audio_encoder.parameters())
        embedding = self.audio_encoder(mel.to(weights.device, self.dtype))
        return torch.nn.functional.normalize(embedding.float(), dim=-1).to(self.dtype)

    def conditions(
        self,
        request: GenerationRequest,
        batch: int,
        audio_embedding: torch.Tensor | None = None,
        prompts: list[str] | None = None,
    ) -> tuple[Condition, Condition | None]:
        """(cond, uncond): the prompts' and the negative prompt's embeddings, (batch, D) each.

        `prompts` (default: the request's) share the batch prompt-major; `audio_embedding` (batch, D)
        takes the prompt's place (variations of a clip). uncond is None when guidance is off: guidance at
        scale 1 is a no-op and the reference skips it below 1 too, so the UNet then runs once per step.
        """
        prompts = prompts or [request.prompt]
        use_guidance = request.guidance_scale > 1.0
        texts = ([request.negative_prompt] if use_guidance else []) + (
            prompts if audio_embedding is None else []
        )
        embeddings = self.embed_text(texts) if texts else None  # (0 to 1 + P, D)
        uncond = embeddings[:1].repeat(batch, 1) if use_guidance else None
        if audio_embedding is not None:
            return audio_embedding, uncond
        per_prompt = batch // len(prompts)
        return embeddings[-len(prompts) :].repeat_interleave(per_prompt, dim=0), uncond

    def request_problems(self, request: GenerationRequest, model_id: str) -> list[str]:
        if request.transcript:
            return [
                "a transcript is for the AudioLDM 2 speech checkpoints (anhnct/audioldm2_gigaspeech, "
                f"_ljspeech); {model_id} is not one: put everything into the prompt"
            ]
        return []

    def modules(self) -> list[torch.nn.Module]:
        encoders = [getattr(self.text_encoder, name, None) for name in ("model", "base", "projection")]
        return [m for m in [self.audio_encoder, *encoders] if isinstance(m, torch.nn.Module)]
