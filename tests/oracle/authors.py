"""The authors' own packages (`audioldm` 0.1.1, `audioldm2` 0.1.0) as test oracles for their checkpoints.

tests/install.sh installs them without their dependency pins (old numpy, librosa, transformers), with the
few small packages their code really imports. Their torchaudio import is served by `shims/torchaudio`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

SHIMS = Path(__file__).with_name("shims")


def authors_module(name: str) -> ModuleType:
    """Import one of the authors' modules (e.g. 'audioldm.latent_diffusion.openaimodel')."""
    try:
        import torchaudio  # noqa: F401 - a real one, where it exists, is used
    except ImportError:
        if str(SHIMS) not in sys.path:
            sys.path.insert(0, str(SHIMS))
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise AssertionError(
            f"{name} does not import ({error}); tests/install.sh installs the authors' packages"
        ) from error
