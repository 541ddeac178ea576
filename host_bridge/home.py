"""Where Soundloom keeps its things, and which version is running: torch-free, read by every part.

The data folder holds the job journal, the default output folder, the spool, the log, and the app's
history and settings. One function names each, so the bridge, the app and the command line agree.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def data_folder() -> Path:
    """$SOUNDLOOM_DATA_DIR, else soundloom/ in the platform's user data folder."""
    if os.environ.get("SOUNDLOOM_DATA_DIR"):
        return Path(os.environ["SOUNDLOOM_DATA_DIR"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "soundloom"


def journal_path() -> Path:
    return data_folder() / "jobs.sqlite"


def output_folder() -> Path:
    return data_folder() / "output"


def log_path() -> Path:
    return data_folder() / "soundloom.log"


def soundloom_version() -> str:
    try:
        return version("soundloom")
    except PackageNotFoundError:
        return "unknown"
