"""Pictures of audio: min/max waveform columns and a log-magnitude spectrogram, numpy in, QImage out."""

from __future__ import annotations

import numpy as np
from PyQt6.QtGui import QColor, QImage, QPainter, QPen


def peaks(audio: np.ndarray, columns: int) -> np.ndarray:
    """(columns, 2) min/max of the mono mix per column."""
    mono = audio.reshape(len(audio), -1).mean(axis=1)
    if len(mono) == 0:
        return np.zeros((columns, 2), np.float32)
    return regroup(np.stack([mono, mono], axis=1), columns)


def regroup(min_max: np.ndarray, columns: int) -> np.ndarray:
    """(n, 2) min/max rows -> (columns, 2): the min and max over each column's share of the rows."""
    starts = np.linspace(0, len(min_max), max(columns, 1), endpoint=False).astype(int)
    starts = np.minimum(starts, len(min_max) - 1)
    low, high = np.minimum.reduceat(min_max[:, 0], starts), np.maximum.reduceat(min_max[:, 1], starts)
    return np.stack([low, high], axis=1)


def waveform_image(audio: np.ndarray, width: int, height: int, color: QColor) -> QImage:
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setPen(QPen(color))
    middle = height / 2
    for x, (low, high) in enumerate(peaks(audio, width)):
        painter.drawLine(x, round(middle - high * middle), x, round(middle - low * middle))
    painter.end()
    return image


def spectrogram(audio: np.ndarray, sample_rate: int, columns: int, rows: int) -> np.ndarray:
    """(rows, columns) magnitudes in dB, low frequencies at the bottom, over [-80, 0] dB of the peak."""
    mono = audio.reshape(len(audio), -1).mean(axis=1).astype(np.float32)
    fft_size = 512 if sample_rate <= 24_000 else 1024
    if len(mono) < fft_size:
        mono = np.pad(mono, (0, fft_size - len(mono)))
    starts = np.linspace(0, len(mono) - fft_size, columns).astype(int)
    frames = np.stack([mono[start : start + fft_size] for start in starts]) * np.hanning(fft_size)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T  # (bins, columns)
    bins = np.linspace(0, magnitude.shape[0] - 1, rows).astype(int)
    decibels = 20 * np.log10(magnitude[bins] + 1e-9)
    decibels = np.clip(decibels - decibels.max(), -80, 0)
    return decibels[::-1]


def spectrogram_image(audio: np.ndarray, sample_rate: int, width: int, height: int) -> QImage:
    level = ((spectrogram(audio, sample_rate, width, height) + 80) / 80 * 255).astype(np.uint8)
    # A dark-blue to yellow ramp, packed as 0xAARRGGBB.
    red = level.astype(np.uint32)
    green, blue = (red * 4) // 5, (255 - red) // 2
    argb = (0xFF << 24) | (red << 16) | (green << 8) | blue
    pixels = np.ascontiguousarray(argb, np.uint32)
    image = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32)
    return image.copy()  # own the pixels: the numpy buffer goes away
