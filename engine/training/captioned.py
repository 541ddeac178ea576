"""Captioned training audio: a folder with `captions-train.jsonl` lines {"file": ..., "caption": ...}.

This is what `soundloom corpus build` writes; any folder of the user's own clips with such a manifest
works too. Clips are read through data.load_clip, so any format, rate and channel count is accepted.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import EngineError
from .data import load_clip

log = logging.getLogger(__name__)
MANIFEST = "captions-train.jsonl"


class CaptionedClips:
    def __init__(self, folder: Path, sample_rate: int = 16000, manifest: str = MANIFEST):
        path = folder / manifest
        if not path.is_file():
            raise EngineError(
                f"{folder} has no {manifest}: caption-aware training needs one line per clip, "
                '{"file": "clips/a.wav", "caption": "..."} (soundloom corpus build writes it)'
            )
        self.clips: list[np.ndarray] = []
        self.captions: list[str] = []
        self.categories: list[str] = []
        skipped = 0
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                file, caption = folder / entry["file"], str(entry["caption"])
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise EngineError(
                    f"{path}, line {number}: not a {{file, caption}} object ({error})"
                ) from None
            try:
                clip = load_clip(file, sample_rate)
            except (sf.LibsndfileError, RuntimeError, ValueError):
                skipped += 1
                continue
            self.clips.append(clip)
            self.captions.append(caption)
            self.categories.append(str(entry.get("category", "")))
        if not self.clips:
            raise EngineError(f"{path}: none of its clips could be read")
        if skipped:
            log.warning("%s: skipped %d unreadable clips", path, skipped)
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.clips)
