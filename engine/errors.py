"""The engine's one exception type: every message is something a user can act on."""


class EngineError(Exception):
    """A request or a checkpoint the engine cannot work with; the message says why and what to do."""


class GenerationCancelled(EngineError):
    """Raised between sampler steps when the caller's cancel event is set."""


def first_line(error: BaseException) -> str:
    """A library's exception as one line for the user: its first line, or its type when it says nothing."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
