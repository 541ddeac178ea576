"""AudioLDM 2 text-to-audio: CLAP + FLAN-T5 -> projection -> GPT-2 "language of audio" -> two-stream UNet.

Everything after the conditioning is AudioLDM's: the same VAE, vocoder, samplers, duration rules, edits,
loops and re-ranking (`AudioLDM2` subclasses `AudioLDM` and replaces only how a prompt becomes the UNet's
condition). The condition is two cross-attention streams (`Streams`): GPT-2's generated hidden states,
and the second encoder's hidden states with their padding mask: T5 reading the prompt, or, for the
speech checkpoints, VITS reading the transcript (the prompt then describes the voice and the setting).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .checkpoints import load_component
from .conditions import Streams
from .core import load_core, place_core
from .errors import EngineError
from .language_model import LanguageModel
from .licence import folder_licence
from .models.projection import ProjectionConfig, ProjectionModel
from .pipeline import AudioLDM
from .requests import GenerationRequest
from .text import ClapTextEncoder
from .text_sequence import T5TextEncoder, VitsTextEncoder, load_second_encoder


def pad_text(streams: Streams, length: int) -> Streams:
    """Right-pad the T5 stream to `length` tokens, masked out: the UNet's attention ignores them exactly."""
    extra = length - streams.text.shape[1]
    if extra <= 0:
        return streams
    text = torch.nn.functional.pad(streams.text, (0, 0, 0, extra))
    return Streams(streams.loa, text, torch.nn.functional.pad(streams.text_mask, (0, extra), value=0))


class AudioLDM2(AudioLDM):
    family = "audioldm2"

    def __init__(
        self,
        *core,
        projection: ProjectionModel,
        language_model: LanguageModel,
        text_encoder_2: T5TextEncoder | VitsTextEncoder,
        **kwargs,
    ):
        super().__init__(*core, **kwargs)
        self.projection, self.language_model, self.text_encoder_2 = projection, language_model, text_encoder_2

    @classmethod
    def load_folder(
        cls, folder: Path, model_id: str, device: torch.device, dtype: torch.dtype, allow_pickle: bool
    ) -> AudioLDM2:
        if not (folder / "language_model").is_dir():
            raise EngineError(
                f"{folder}: component folder language_model/ is missing (AudioLDM 2 needs its GPT-2)"
            )
        unet, vae, vocoder, schedule = load_core(folder, allow_pickle, cls.family)
        place_core(unet, vae, vocoder, device, dtype)
        text_encoder = ClapTextEncoder.load(folder, allow_pickle).to(device, dtype)
        if text_encoder.feature_extractor is None:
            raise EngineError(
                f"{folder / 'text_encoder'}: AudioLDM 2 needs a full ClapModel (text and audio branches)"
            )
        projection = load_component(
            folder / "projection_model", ProjectionModel, ProjectionConfig, "diffusers", allow_pickle
        ).to(device=device, dtype=dtype)
        language_model = LanguageModel.load(folder / "language_model", allow_pickle).to(device, dtype)
        text_encoder_2 = load_second_encoder(folder, allow_pickle).to(device, dtype)
        return cls(
            unet,
            vae,
            vocoder,
            text_encoder,
            schedule,
            model_id,
            device,
            dtype,
            projection=projection,
            language_model=language_model,
            text_encoder_2=text_encoder_2,
            licence=folder_licence(folder, model_id),
        )

    @property
    def speech(self) -> bool:
        """A speech checkpoint: VITS reads a transcript beside the prompt."""
        return isinstance(self.text_encoder_2, VitsTextEncoder)

    def request_problems(self, request: GenerationRequest) -> list[str]:
        if self.speech and not request.transcript.strip():
            return [
                f"{self.model_id} is a speech checkpoint: give the words to speak as a transcript "
                "(--transcript); the prompt describes the voice and the setting"
            ]
        return [] if self.speech else super().request_problems(request)

    def modules(self) -> list[torch.nn.Module]:
        return [
            *super().modules(),
            self.projection,
            self.language_model.model,
            self.text_encoder_2.model,
        ]

    @torch.inference_mode()
    def encode_prompts(
        self,
        prompts: list[str],
        clap: torch.Tensor | None = None,
        min_text_tokens: int = 0,
        transcripts: list[str] | None = None,
    ) -> Streams:
        """(B,) prompts -> Streams; `clap` (B, D) replaces the prompts' CLAP text embeddings (variations).

        The second stream reads the prompts (T5) or, on a speech checkpoint, `transcripts` (VITS).
        """
        if clap is None:
            clap = self.encode_text(prompts)  # (B, D), unit vectors
        return self._streams(clap, *self._second_stream(prompts, transcripts, min_text_tokens))

    def _second_stream(
        self, prompts: list[str], transcripts: list[str] | None, min_text_tokens: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """T5 on the prompts (B, L, D_t5), or VITS on the transcripts (B, tokens, D_vits); with the mask."""
        if self.speech:
            text, text_mask = self.text_encoder_2.encode(transcripts)
        else:
            text, text_mask = self.text_encoder_2.encode(prompts, min_text_tokens)
        return text.to(self.dtype), text_mask

    def _streams(self, clap: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor) -> Streams:
        """CLAP (B, D) and the second encoder's states -> projection -> GPT-2's LOA states."""
        clap_mask = text_mask.new_ones((len(clap), 1))
        prompt, prompt_mask = self.projection(clap[:, None, :].to(self.dtype), clap_mask, text, text_mask)
        loa = self.language_model.generate(prompt, prompt_mask)  # (B, N, D_gpt)
        return Streams(loa, text, text_mask)

    def conditions(
        self,
        request: GenerationRequest,
        batch: int,
        clap: torch.Tensor | None = None,
        prompts: list[str] | None = None,
    ) -> tuple[Streams, Streams | None]:
        """(cond, uncond) for `batch` rows, prompt-major over `prompts` (default: the request's);
        `clap` (batch, D) conditions each row on an audio embedding instead (variations of a clip)."""
        prompts = prompts or [request.prompt]
        transcripts = [request.transcript] * len(prompts)
        if clap is None:
            cond = self.encode_prompts(prompts, transcripts=transcripts).repeat(batch // len(prompts))
        else:  # one audio embedding per row, one prompt (or transcript) for them all: encode it once
            text, text_mask = self._second_stream([request.prompt], [request.transcript])
            cond = self._streams(clap, text.expand(batch, -1, -1), text_mask.expand(batch, -1))
        if request.guidance_scale <= 1.0:
            return cond, None
        if self.speech:  # the published pipeline's negative side for VITS: zero states, all masked
            text, text_mask = self.text_encoder_2.unconditional(1)
            uncond = self._streams(
                self.encode_text([request.negative_prompt]), text.to(self.dtype), text_mask
            )
            return cond, uncond.repeat(batch)
        # The published pipeline pads the negative prompt's T5 tokens to the prompt's count (GPT-2 sees that
        # padding, so this is part of its sound). It also cuts a longer negative prompt to that count; we
        # keep every word of it instead and pad the prompt's stream, which the UNet's mask makes exact.
        uncond = self.encode_prompts([request.negative_prompt], min_text_tokens=cond.text.shape[1])
        uncond = uncond.repeat(batch)
        length = max(cond.text.shape[1], uncond.text.shape[1])
        return pad_text(cond, length), pad_text(uncond, length)

    def run_unet(self, latent: torch.Tensor, t: torch.Tensor, condition: Streams) -> torch.Tensor:
        return self.unet(
            latent, t, contexts=(condition.loa, condition.text), context_masks=(None, condition.text_mask)
        )
