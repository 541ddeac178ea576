"""The mel front end against AudioLDM's own feature code (TacotronSTFT + librosa's filterbank)."""

from __future__ import annotations

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from scipy.signal import get_window
from soundloom.engine.audio import MelConfig, mel_filterbank, normalize_waveform, waveform_to_mel


def audioldm_reference_mel(waveform: np.ndarray) -> np.ndarray:
    """audioldm/audio/stft.py, condensed: conv1d Fourier-basis STFT, librosa mel, log with a 1e-5 floor."""
    n_fft, hop = 1024, 160
    fourier = np.fft.fft(np.eye(n_fft))
    cutoff = n_fft // 2 + 1
    basis = np.vstack([np.real(fourier[:cutoff]), np.imag(fourier[:cutoff])])[:, None, :]
    window = librosa.util.pad_center(get_window("hann", 1024, fftbins=True), size=n_fft)
    basis = torch.tensor(basis * window, dtype=torch.float32)
    x = torch.tensor(waveform, dtype=torch.float32).view(1, 1, 1, -1)
    x = F.pad(x, (n_fft // 2, n_fft // 2, 0, 0), mode="reflect").squeeze(1)
    spectrum = F.conv1d(x, basis, stride=hop)
    magnitude = torch.sqrt(spectrum[:, :cutoff] ** 2 + spectrum[:, cutoff:] ** 2)
    mel_basis = torch.tensor(librosa.filters.mel(sr=16000, n_fft=n_fft, n_mels=64, fmin=0, fmax=8000))
    return torch.log(torch.clamp(mel_basis @ magnitude, min=1e-5))[0].T.numpy()


def sweep_with_noise(seconds: float = 1.03, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    sweep = 0.4 * np.sin(2 * np.pi * (50 * t + 3000 * t**2))
    return (sweep + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)


def test_filterbank_equals_librosa_slaney() -> None:
    ours = mel_filterbank(MelConfig())
    reference = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=0, fmax=8000)
    assert ours.shape == (64, 513)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-9)


def test_log_mel_equals_audioldm_features() -> None:
    waveform = sweep_with_noise()
    ours = waveform_to_mel(torch.from_numpy(waveform)[None])[0].numpy()
    reference = audioldm_reference_mel(waveform)
    assert ours.shape == reference.shape == (len(waveform) // 160 + 1, 64)
    assert np.abs(ours - reference).max() < 1e-4  # log-mel; measured 2.9e-6
    loudest_bin = ours.argmax(axis=1)  # the sweep rises: its mel bin must climb over time
    assert loudest_bin[5] < loudest_bin[len(loudest_bin) // 2] < loudest_bin[-5]


def test_silence_sits_at_the_log_floor() -> None:
    mel = waveform_to_mel(torch.zeros(1, 16000))
    assert torch.allclose(mel, torch.full_like(mel, np.log(1e-5)))


def test_normalize_matches_audioldm_preprocessing() -> None:
    waveform = sweep_with_noise() * 0.1 + 0.2
    reference = waveform - waveform.mean()
    reference = 0.5 * reference / (np.abs(reference).max() + 1e-8)
    ours = normalize_waveform(torch.from_numpy(waveform)[None])[0].numpy()
    np.testing.assert_allclose(ours, reference, atol=1e-6)
    assert abs(np.abs(ours).max() - 0.5) < 1e-6


def test_griffin_lim_preview_keeps_pitch_and_length() -> None:
    from soundloom.engine.audio import griffin_lim

    t = np.arange(16000) / 16000
    tone = torch.from_numpy((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))[None]
    audio = griffin_lim(waveform_to_mel(tone))[0].numpy()
    assert audio.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    assert abs(np.fft.rfftfreq(len(audio), 1 / 16000)[spectrum.argmax()] - 1000) < 40  # one mel band wide
