"""The engine's one exception type: every message is something a user can act on."""


class EngineError(Exception):
    """A request or a checkpoint the engine cannot work with; the message says why and what to do."""


class GenerationCancelled(EngineError):
    """Raised between sampler steps when the caller's cancel event is set."""
