"""The command line's progress bar: one line on stderr, redrawn in place."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Called as progress(step, total, note) by sampling, training and corpus rendering."""

    def __init__(self, label: str, width: int = 30):
        self.label, self.width, self.started = label, width, time.monotonic()

    def __call__(self, step: int, total: int, note: str = "") -> None:
        filled = self.width * step // total
        elapsed = time.monotonic() - self.started
        bar = "#" * filled + "." * (self.width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {step}/{total} {elapsed:5.1f}s {note}")
        if step == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
