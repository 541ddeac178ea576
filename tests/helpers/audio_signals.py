"""Real test signals: tones, sweeps, noise bursts and clicks, float32 at a given rate."""

import numpy as np

RATE = 48000


def tone(frequency_hz: float, seconds: float = 1.0, amplitude: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32)


def sweep(
    seconds: float = 2.0, low_hz: float = 20.0, high_hz: float = 20000.0, rate: int = RATE
) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    k = np.log(high_hz / low_hz) / seconds
    return (0.5 * np.sin(2 * np.pi * low_hz * (np.exp(k * t) - 1) / k)).astype(np.float32)


def noise_burst(seconds: float = 0.5, amplitude: float = 0.3, rate: int = RATE, seed: int = 0) -> np.ndarray:
    return (amplitude * np.random.default_rng(seed).standard_normal(round(seconds * rate))).astype(np.float32)


def click(seconds: float = 1.0, at_s: float = 0.1, rate: int = RATE) -> np.ndarray:
    audio = np.zeros(round(seconds * rate), np.float32)
    audio[round(at_s * rate)] = 1.0
    return audio


def level_db(audio: np.ndarray) -> float:
    """RMS level in dBFS, ignoring the first and last 10% (filter settling)."""
    edge = len(audio) // 10
    middle = audio[edge : len(audio) - edge]
    return 20 * np.log10(np.sqrt(np.mean(middle.astype(np.float64) ** 2)) + 1e-12)


def dominant_hz(audio: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[np.argmax(spectrum)])
