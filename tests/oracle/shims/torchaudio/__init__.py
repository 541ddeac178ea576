"""A stand-in for torchaudio, for the authors' `audioldm` and `audioldm2` packages only (test oracles).

No torchaudio wheel exists for the torch the project pins (torch 2.13; torchaudio stops at 2.11.1 on the
index), and the packages import it at module level. Nothing the oracle tests run calls into it: text to
audio never loads a file or resamples. A call raises, so a test that starts to need it says so.
"""

from . import functional, transforms  # noqa: F401


def load(*args: object, **kwargs: object) -> None:
    raise NotImplementedError("torchaudio.load: the oracle's stand-in reads no files")
