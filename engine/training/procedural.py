"""Procedural sound design in numpy/scipy: whooshes, risers, impacts, zaps, alarms, wind, rain, fire,
engines, glitches, coloured noise and bells.

Every generator is `(rng, samples, sample_rate) -> (mono float32 audio, attribute)`; the attribute is the
word the caption uses ("fast", "distant", "pink", ...), chosen from what the generator actually did.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

Generator = Callable[[np.random.Generator, int, int], tuple[np.ndarray, str]]


def coloured_noise(rng: np.random.Generator, samples: int, exponent: float) -> np.ndarray:
    """Noise with power ∝ 1/f^exponent (0 white, 1 pink, 2 brown), unit peak."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    frequencies = np.maximum(np.fft.rfftfreq(samples), 1.0 / samples)
    noise = np.fft.irfft(spectrum / frequencies ** (exponent / 2), n=samples)
    return noise / (np.abs(noise).max() + 1e-12)


def swept_bandpass(noise: np.ndarray, centres_hz: np.ndarray, sample_rate: int, q: float = 2.0) -> np.ndarray:
    """Band-pass `noise` with a centre frequency that moves over time (per 256-sample block)."""
    out = np.zeros_like(noise)
    block = 256
    state = None
    for start in range(0, len(noise), block):
        centre = float(np.clip(centres_hz[start], 40, sample_rate / 2 * 0.9))
        sos = signal.butter(
            2,
            [centre / (1 + 0.5 / q), min(centre * (1 + 0.5 / q), sample_rate / 2 * 0.95)],
            btype="bandpass",
            fs=sample_rate,
            output="sos",
        )
        if state is None:
            state = np.zeros((sos.shape[0], 2))
        out[start : start + block], state = signal.sosfilt(sos, noise[start : start + block], zi=state)
    return out


def envelope(samples: int, attack: float, decay: float) -> np.ndarray:
    """Exponential attack/decay envelope; attack and decay are fractions of the clip."""
    t = np.linspace(0, 1, samples)
    return (1 - np.exp(-t / max(attack, 1e-4))) * np.exp(-t / max(decay, 1e-4))


def whoosh(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    speed = rng.choice(["fast", "slow"])
    length = int(samples * (0.35 if speed == "fast" else 0.8))
    t = np.linspace(-1, 1, length)
    centres = 300 + 3000 * np.exp(-(t**2) * 6)  # the pitch of the air peaks as it passes
    body = swept_bandpass(coloured_noise(rng, length, 1.0), centres, rate) * np.exp(-(t**2) * 5)
    out = np.zeros(samples)
    offset = rng.integers(0, samples - length + 1)
    out[offset : offset + length] = body
    return out, speed


def riser(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    speed = rng.choice(["slow", "fast"])
    t = np.arange(samples) / rate
    span = 1.0 if speed == "slow" else 0.5
    progress = np.clip(t / (t[-1] * span), 0, 1)
    pitch = 100 * 2 ** (4 * progress)  # four octaves up
    tone = signal.sawtooth(2 * np.pi * np.cumsum(pitch) / rate) * 0.4
    air = swept_bandpass(coloured_noise(rng, samples, 0.0), 500 + 6000 * progress, rate)
    return (tone + air) * progress**2, speed


def impact(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    size = rng.choice(["deep", "short"])
    t = np.arange(samples) / rate
    decay = 0.6 if size == "deep" else 0.12
    pitch = (45 if size == "deep" else 120) * (1 + 2 * np.exp(-t / 0.03))  # a fast downward pitch drop
    body = np.sin(2 * np.pi * np.cumsum(pitch) / rate) * np.exp(-t / decay)
    crack = coloured_noise(rng, samples, 0.5) * np.exp(-t / 0.02)
    return body + 0.5 * crack, size


def zap(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    count = int(rng.integers(1, 4))
    out = np.zeros(samples)
    shot = int(0.25 * rate)
    t = np.arange(shot) / rate
    pitch = 3000 * np.exp(-t / 0.05) + 200
    modulator = np.sin(2 * np.pi * 40 * t) * 3
    one = np.sin(2 * np.pi * np.cumsum(pitch) / rate + modulator) * np.exp(-t / 0.08)
    for start in np.linspace(0, samples - shot, count).astype(int):
        out[start : start + shot] += one
    return out, "single" if count == 1 else "repeated"


def alarm(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    urgency = rng.choice(["urgent", "slow"])
    beep_s = 0.12 if urgency == "urgent" else 0.4
    t = np.arange(samples) / rate
    high, low = rng.choice([880.0, 1200.0, 1500.0]), rng.choice([600.0, 700.0])
    tone_hz = np.where((t // beep_s) % 2 == 0, high, low)
    gate = ((t % beep_s) < beep_s * 0.8).astype(float)
    return signal.square(2 * np.pi * np.cumsum(tone_hz) / rate) * gate * 0.5, urgency


def wind(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    strength = rng.choice(["gentle", "howling"])
    gust_rate = 0.3 if strength == "gentle" else 1.2
    t = np.arange(samples) / rate
    gusts = 0.6 + 0.4 * np.sin(2 * np.pi * gust_rate * t + rng.uniform(0, 6))
    centres = (300 if strength == "gentle" else 700) * (0.5 + gusts)
    return swept_bandpass(coloured_noise(rng, samples, 2.0), centres, rate, q=1.0) * gusts, strength


def rain(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    weight = rng.choice(["light", "heavy"])
    drops_per_s = 40 if weight == "light" else 400
    out = coloured_noise(rng, samples, 1.0) * (0.05 if weight == "light" else 0.3)
    drop_length = int(0.01 * rate)
    drop = np.sin(2 * np.pi * 2500 * np.arange(drop_length) / rate) * np.exp(-np.arange(drop_length) / 25)
    for start in rng.integers(0, samples - drop_length, int(drops_per_s * samples / rate)):
        out[start : start + drop_length] += drop * rng.uniform(0.2, 1.0)
    return out, weight


def fire(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    intensity = rng.choice(["soft", "roaring"])
    rumble = coloured_noise(rng, samples, 2.0) * (0.2 if intensity == "soft" else 0.6)
    crackles = np.zeros(samples)
    count = int((15 if intensity == "soft" else 60) * samples / rate)
    for start in rng.integers(0, samples - 200, count):
        length = int(rng.integers(20, 200))
        crackles[start : start + length] += rng.standard_normal(length) * np.exp(
            -np.arange(length) / (length / 5)
        )
    return rumble + crackles * 0.8, intensity


def engine(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    load = rng.choice(["idling", "revving"])
    t = np.arange(samples) / rate
    f0 = rng.uniform(30, 45) * (1 + (1.5 * t / t[-1] if load == "revving" else 0.0))
    f0 = f0 * (1 + 0.01 * coloured_noise(rng, samples, 2.0))  # mechanical jitter
    phase = 2 * np.pi * np.cumsum(f0) / rate
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 12))
    firing = 0.7 + 0.3 * np.sin(phase / 2)
    return harmonics * firing, load


def glitch(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    out = np.zeros(samples)
    position = 0
    while position < samples:
        length = int(rng.integers(rate // 100, rate // 8))
        grain = np.sin(2 * np.pi * rng.uniform(100, 4000) * np.arange(length) / rate)
        grain = np.round(grain * rng.integers(2, 8)) / 8  # crushed to a few levels
        repeats = int(rng.integers(1, 5))
        for _ in range(repeats):
            end = min(position + length, samples)
            out[position:end] = grain[: end - position] * rng.choice([0.0, 1.0], p=[0.2, 0.8])
            position = end
    return out, "choppy"


def noise(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    colour, exponent = [("white", 0.0), ("pink", 1.0), ("brown", 2.0)][rng.integers(3)]
    return coloured_noise(rng, samples, exponent) * 0.6, colour


def bell(rng: np.random.Generator, samples: int, rate: int) -> tuple[np.ndarray, str]:
    register = rng.choice(["high", "low"])
    base = rng.uniform(600, 1200) if register == "high" else rng.uniform(150, 300)
    t = np.arange(samples) / rate
    ratios = [0.5, 1.0, 1.19, 1.56, 2.0, 2.66, 3.01]  # a church bell's hum, prime, tierce, ... (inharmonic)
    partials = [
        np.sin(2 * np.pi * base * r * t) * np.exp(-t * (0.6 + r)) / (1 + i) for i, r in enumerate(ratios)
    ]
    return sum(partials), register


GENERATORS: dict[str, Generator] = {
    "whoosh": whoosh,
    "riser": riser,
    "impact": impact,
    "zap": zap,
    "alarm": alarm,
    "wind": wind,
    "rain": rain,
    "fire": fire,
    "engine": engine,
    "glitch": glitch,
    "noise": noise,
    "bell": bell,
}
