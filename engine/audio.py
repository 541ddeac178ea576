"""Waveform <-> mel features, exactly as AudioLDM computes them.

AudioLDM (and its HiFi-GAN vocoder) was trained on the features of `audioldm/audio/stft.py`
(TacotronSTFT): a centred, reflect-padded STFT with a periodic Hann window, magnitudes, a Slaney mel
filterbank (librosa's default) and natural-log compression with a 1e-5 floor. The mel layout is
(batch, mel_frames, mel_bins): time first, as the VAE and the vocoder expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 160
    win_length: int = 1024
    mel_bins: int = 64
    fmin_hz: float = 0.0
    fmax_hz: float = 8000.0
    log_floor: float = 1e-5  # magnitudes below this are clamped before the log (TacotronSTFT's clip_val)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's auditory-toolbox mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mel = hz / f_sp
    above = hz >= min_log_hz
    mel[above] = min_log_hz / f_sp + np.log(hz[above] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    hz = f_sp * mel
    above = mel >= min_log_mel
    hz[above] = min_log_hz * np.exp(logstep * (mel[above] - min_log_mel))
    return hz


@lru_cache(maxsize=8)
def mel_filterbank(config: MelConfig = MelConfig()) -> np.ndarray:
    """(mel_bins, n_fft // 2 + 1) triangular filters, Slaney-normalised (equal area), float32."""
    fft_freqs = np.fft.rfftfreq(config.n_fft, d=1.0 / config.sample_rate)
    mel_edges = np.linspace(
        _hz_to_mel(np.array([config.fmin_hz]))[0],
        _hz_to_mel(np.array([config.fmax_hz]))[0],
        config.mel_bins + 2,
    )
    hz_edges = _mel_to_hz(mel_edges)
    widths = np.diff(hz_edges)
    ramps = hz_edges[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (hz_edges[2:] - hz_edges[:-2]))[:, None]
    return weights.astype(np.float32)


def stft_magnitude(waveform: torch.Tensor, config: MelConfig = MelConfig()) -> torch.Tensor:
    """(batch, samples) -> (batch, n_fft // 2 + 1, frames), frames = samples // hop + 1."""
    window = torch.hann_window(config.win_length, periodic=True, dtype=waveform.dtype, device=waveform.device)
    spectrum = torch.stft(
        waveform,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spectrum.abs()


def waveform_to_mel(waveform: torch.Tensor, config: MelConfig = MelConfig()) -> torch.Tensor:
    """Log-mel features: (batch, samples) at config.sample_rate -> (batch, mel_frames, mel_bins)."""
    if waveform.dim() != 2:
        raise ValueError(f"waveform must be (batch, samples), got shape {tuple(waveform.shape)}")
    magnitude = stft_magnitude(waveform.float(), config)  # (B, n_fft//2+1, frames)
    filters = torch.from_numpy(mel_filterbank(config)).to(magnitude.device)
    mel = torch.matmul(filters, magnitude)  # (B, mel_bins, frames)
    return torch.log(torch.clamp(mel, min=config.log_floor)).transpose(1, 2)


def normalize_waveform(waveform: torch.Tensor) -> torch.Tensor:
    """AudioLDM's loudness convention before feature extraction: zero mean, peak 0.5, per clip.

    (batch, samples) -> (batch, samples). The models saw only audio shaped this way in training.
    """
    centred = waveform - waveform.mean(dim=-1, keepdim=True)
    peak = centred.abs().amax(dim=-1, keepdim=True)
    return 0.5 * centred / (peak + 1e-8)


@lru_cache(maxsize=8)
def mel_pseudo_inverse(config: MelConfig = MelConfig()) -> np.ndarray:
    """(n_fft // 2 + 1, mel_bins): the filterbank's pseudo-inverse, mel magnitudes back to linear ones."""
    return np.linalg.pinv(mel_filterbank(config)).astype(np.float32)


def griffin_lim(mel: torch.Tensor, config: MelConfig = MelConfig(), iterations: int = 32) -> torch.Tensor:
    """A rough waveform from log-mel, for previews when no vocoder is at hand.

    (batch, mel_frames, mel_bins) -> (batch, (mel_frames - 1) * hop) samples: the mel magnitudes are mapped
    back through the filterbank's pseudo-inverse, then phase is estimated by Griffin-Lim iterations.
    """
    inverse = torch.from_numpy(mel_pseudo_inverse(config)).to(mel.device)  # (n_fft // 2 + 1, mel_bins)
    magnitude = (inverse @ torch.exp(mel.float()).transpose(1, 2)).clamp_min(0)
    window = torch.hann_window(config.win_length, periodic=True, device=mel.device)
    stft = dict(
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=window,
        center=True,
    )
    length = (mel.shape[1] - 1) * config.hop_length
    phase = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=torch.Generator().manual_seed(0)))
    for _ in range(iterations):
        waveform = torch.istft(magnitude * phase.to(mel.device), length=length, **stft)
        spectrum = torch.stft(waveform, return_complex=True, pad_mode="reflect", **stft)
        phase = spectrum / spectrum.abs().clamp_min(1e-8)
    return torch.istft(magnitude * phase, length=length, **stft)
