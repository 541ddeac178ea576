"""Empty: the packages name `torchaudio.transforms` only in code the oracle tests never run."""
