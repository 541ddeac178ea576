def resample(*args: object, **kwargs: object) -> None:
    raise NotImplementedError("torchaudio.functional.resample: the oracle's stand-in does not resample")
