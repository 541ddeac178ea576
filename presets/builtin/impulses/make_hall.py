"""How hall.wav was made (run from this folder): a synthetic 2.4 s concert-hall impulse response.

Noise in octave bands, each decaying at its own RT60 (lows ring longest, as in a real hall), after a
20 ms pre-delay and a few sparse early reflections; no direct sound (the preset's mix sets the dry).
"""

import numpy as np
import soundfile as sf
from scipy import signal

SAMPLE_RATE, LENGTH_S, PRE_DELAY_S = 48000, 2.4, 0.02
RT60_BY_BAND = {125: 2.6, 250: 2.4, 500: 2.2, 1000: 2.0, 2000: 1.7, 4000: 1.3, 8000: 0.9, 16000: 0.5}

rng = np.random.default_rng(2026)
frames = int(LENGTH_S * SAMPLE_RATE)
t = np.arange(frames) / SAMPLE_RATE
late = np.zeros(frames)
for centre, rt60 in RT60_BY_BAND.items():
    low, high = centre / np.sqrt(2), min(centre * np.sqrt(2), 0.45 * SAMPLE_RATE)
    band = signal.sosfilt(
        signal.butter(4, [low, high], "bandpass", fs=SAMPLE_RATE, output="sos"), rng.standard_normal(frames)
    )
    late += band * 10 ** (-3 * t / rt60)  # -60 dB at t = rt60
late *= np.clip(t / 0.08, 0, 1)  # the diffuse field builds up over the first 80 ms
early = np.zeros(frames)
for delay_s, gain in [(0.011, 0.5), (0.019, -0.4), (0.027, 0.35), (0.041, -0.3), (0.056, 0.25)]:
    early[int(delay_s * SAMPLE_RATE)] = gain
response = np.concatenate([np.zeros(int(PRE_DELAY_S * SAMPLE_RATE)), early + 0.08 * late])
response = response[:frames] / np.abs(response).max() * 0.9
fade = int(0.1 * SAMPLE_RATE)
response[-fade:] *= np.linspace(1, 0, fade)
sf.write("hall.wav", response.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
