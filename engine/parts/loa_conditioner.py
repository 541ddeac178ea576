"""AudioLDM 2's conditioner: CLAP + FLAN-T5 -> projection -> GPT-2's "language of audio" (LOA), two streams.

The condition is two cross-attention streams (`Streams`): GPT-2's generated hidden states, and the second
encoder's hidden states with their padding mask: T5 reading the prompt, or, for the speech checkpoints,
VITS reading the transcript (the prompt then describes the voice and the setting). CLAP (a full ClapModel)
is shared with AudioLDM's conditioner: it embeds prompts and clips in one joint space.
"""

from __future__ import annotations

import torch

from ..language_model import LanguageModel
from ..models.projection import ProjectionModel
from ..requests import GenerationRequest
from ..text_sequence import T5TextEncoder, VitsTextEncoder
from .clap_conditioner import ClapConditioner
from .conditioner import Streams


def pad_text(streams: Streams, length: int) -> Streams:
    """Right-pad the T5 stream to `length` tokens, masked out: the UNet's attention ignores them exactly."""
    extra = length - streams.text.shape[1]
    if extra <= 0:
        return streams
    text = torch.nn.functional.pad(streams.text, (0, 0, 0, extra))
    return Streams(streams.loa, text, torch.nn.functional.pad(streams.text_mask, (0, extra), value=0))


class LOAConditioner:
    def __init__(
        self,
        clap: ClapConditioner,
        projection: ProjectionModel,
        language_model: LanguageModel,
        text_encoder_2: T5TextEncoder | VitsTextEncoder,
    ):
        self.clap, self.projection = clap, projection
        self.language_model, self.text_encoder_2 = language_model, text_encoder_2
        self.sample_rate, self.dtype = clap.sample_rate, clap.dtype

    @property
    def speech(self) -> bool:
        """A speech checkpoint: VITS reads a transcript beside the prompt."""
        return isinstance(self.text_encoder_2, VitsTextEncoder)

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        return self.clap.embed_text(texts)

    def embed_audio(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.clap.embed_audio(waveform)

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
            clap = self.embed_text(prompts)  # (B, D), unit vectors
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
        audio_embedding: torch.Tensor | None = None,
        prompts: list[str] | None = None,
    ) -> tuple[Streams, Streams | None]:
        """(cond, uncond) for `batch` rows, prompt-major over `prompts` (default: the request's);
        `audio_embedding` (batch, D), CLAP audio embeddings, conditions each row on a clip instead."""
        prompts = prompts or [request.prompt]
        transcripts = [request.transcript] * len(prompts)
        if audio_embedding is None:
            cond = self.encode_prompts(prompts, transcripts=transcripts).repeat(batch // len(prompts))
        else:  # one audio embedding per row, one prompt (or transcript) for them all: encode it once
            text, text_mask = self._second_stream([request.prompt], [request.transcript])
            cond = self._streams(audio_embedding, text.expand(batch, -1, -1), text_mask.expand(batch, -1))
        if request.guidance_scale <= 1.0:
            return cond, None
        if self.speech:  # the published pipeline's negative side for VITS: zero states, all masked
            text, text_mask = self.text_encoder_2.unconditional(1)
            uncond = self._streams(self.embed_text([request.negative_prompt]), text.to(self.dtype), text_mask)
            return cond, uncond.repeat(batch)
        # The published pipeline pads the negative prompt's T5 tokens to the prompt's count (GPT-2 sees that
        # padding, so this is part of its sound). It also cuts a longer negative prompt to that count; we
        # keep every word of it instead and pad the prompt's stream, which the UNet's mask makes exact.
        uncond = self.encode_prompts([request.negative_prompt], min_text_tokens=cond.text.shape[1])
        uncond = uncond.repeat(batch)
        length = max(cond.text.shape[1], uncond.text.shape[1])
        return pad_text(cond, length), pad_text(uncond, length)

    def request_problems(self, request: GenerationRequest, model_id: str) -> list[str]:
        if self.speech and not request.transcript.strip():
            return [
                f"{model_id} is a speech checkpoint: give the words to speak as a transcript "
                "(--transcript); the prompt describes the voice and the setting"
            ]
        return [] if self.speech else self.clap.request_problems(request, model_id)

    def modules(self) -> list[torch.nn.Module]:
        return [
            *self.clap.modules(),
            self.projection,
            self.language_model.model,
            self.text_encoder_2.model,
        ]
