"""The bridge's address space: OSC messages in, typed commands out, and the replies' forms.

Pure functions on (address, args) pairs, whatever carried them (UDP, TCP/SLIP, the spool folder), so
every transport gets the same checks and the same error codes. `host_bridge/osc/PROTOCOL.md` is the table a
client author reads; this module is what enforces it.

    /soundloom/generate request_id:s prompt:s [key value ...]
    /soundloom/transfer request_id:s input:s prompt:s [key value ...]    (also inpaint, extend)
    /soundloom/vary     request_id:s input:s [key value ...]
    /soundloom/cancel   request_id:s
    /soundloom/status   [request_id:s]
    /soundloom/ping | /soundloom/presets [kind:s] | /soundloom/models [licence]
    /soundloom/tempo    [bpm:f [beats_per_bar:i [beat_unit:i]]]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..jobs.errors import (
    BAD_ARGUMENTS,
    BAD_MESSAGE,
    BAD_VALUE,
    UNKNOWN_ADDRESS,
    JobError,
)
from ..jobs.options import (
    BEAT_UNITS,
    JOB_KINDS,
    JOB_OPTIONS,
    NEEDS_INPUT,
    NEEDS_PROMPT,
    Option,
    text_problem,
)
from ..jobs.spec import JobSpec, beat_unit_problem

PREFIX = "/soundloom/"
# `/soundloom/models licence` asks for each model's licence too; "license" (US spelling) is taken as well.
LICENCE_DETAIL = "licence"
LICENCE_WORDS = (LICENCE_DETAIL, "license")
# Addresses the bridge only ever sends. One arriving is ignored, never answered: an error reply to it could
# bounce between the bridge and another peer (or itself) for ever.
REPLY_KINDS = ("pong", "accepted", "progress", "preview", "result", "done", "error", "take")
MAX_REQUEST_ID = 128
PRIORITIES = {"daw": 0, "normal": 1, "batch": 2}  # lower runs first; FIFO within a priority
TOKEN = "token"  # the key of the shared secret; any message may carry it, no command keeps it


class ProtocolError(JobError):
    """A request the bridge refuses; becomes `/soundloom/error request_id code message`."""


# The key/value pairs after the positional arguments: every job option (jobs/options.py, whose request
# options take their ranges from the engine's table), and the transport's own. Cross-field rules the engine
# and the render pipeline check come back as `failed`.
OPTIONS: dict[str, Option] = {
    **JOB_OPTIONS,
    "priority": Option(str, help="daw (default), normal or batch"),
    "reply_port": Option(int, 1, 65535, "send replies to the sender's host at this port"),
    TOKEN: Option(str, help="the bridge's shared secret, when it was started with --token-file"),
}


@dataclass(frozen=True)
class Command:
    """One parsed message. Jobs carry `prompt`/`input` and `options`; queries their own few fields."""

    kind: str
    request_id: str = ""
    prompt: str = ""
    input: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_job(self) -> bool:
        return self.kind in JOB_KINDS

    @property
    def priority(self) -> int:
        return PRIORITIES[self.options.get("priority", "daw")]

    def spec(self) -> JobSpec:
        """The job this message asks for (a job command's options are checked by `parse`)."""
        return JobSpec.from_options(self.kind, self.prompt, self.input, self.options)

    def to_message(self) -> tuple[str, list[Any]]:
        """The message that parses back to this command (journaled jobs are stored this way)."""
        args: list[Any] = [self.request_id] if self.kind in (*JOB_KINDS, "cancel") else []
        if self.kind in NEEDS_INPUT:
            args.append(self.input)
        if self.kind in NEEDS_PROMPT:
            args.append(self.prompt)
        for key, value in self.options.items():
            args += [key, value]
        return PREFIX + self.kind, args


def job_command(request_id: str, spec: JobSpec) -> Command:
    """The command a JobSpec is on the wire, parsed as an OSC request would be (the same checks and words,
    and what the journal keeps); ProtocolError says what is wrong."""
    unchecked = Command(spec.operation, request_id, spec.prompt, spec.input, spec.options())
    return parse(*unchecked.to_message())


def parse(address: Any, args: list[Any]) -> Command:
    """Check one message against the address space; raise ProtocolError with a specific reason."""
    if not isinstance(address, str) or not address.startswith(PREFIX):
        raise ProtocolError(BAD_MESSAGE, f"address {str(address)[:80]!r} is not under {PREFIX}")
    kind = address[len(PREFIX) :]
    parser = PARSERS.get(kind)
    if parser is None:
        raise ProtocolError(UNKNOWN_ADDRESS, f"unknown address {address[:80]!r}; see PROTOCOL.md")
    return parser(kind, list(args))


def _parse_cancel(kind: str, args: list[Any]) -> Command:
    request_id = _request_id(args, kind)
    return Command(kind, request_id, options=_options(args[1:], kind, request_id, allowed=("reply_port",)))


def _parse_status(kind: str, args: list[Any]) -> Command:
    request_id = _request_id(args, kind) if len(args) % 2 else ""  # [id] [reply_port N]
    options = _options(args[1:] if request_id else args, kind, request_id, allowed=("reply_port",))
    return Command(kind, request_id, options=options)


def _parse_presets(kind: str, args: list[Any]) -> Command:
    if not len(args) % 2:  # [kind] [reply_port N]
        return Command(kind, options=_options(args, kind, "", allowed=("reply_port",)))
    if args[0] not in ("effect", "prompt"):
        raise ProtocolError(
            BAD_VALUE, f"presets lists 'effect' or 'prompt' presets, not {str(args[0])[:40]!r}"
        )
    return Command(kind, prompt=args[0], options=_options(args[1:], kind, "", allowed=("reply_port",)))


def _parse_models(kind: str, args: list[Any]) -> Command:
    if not len(args) % 2:  # [licence] [reply_port N]
        return Command(kind, options=_options(args, kind, "", allowed=("reply_port",)))
    if args[0] not in LICENCE_WORDS:
        raise ProtocolError(
            BAD_VALUE, f"models takes 'licence' (names with licences) or nothing, not {str(args[0])[:40]!r}"
        )
    return Command(kind, prompt=LICENCE_DETAIL, options=_options(args[1:], kind, "", allowed=("reply_port",)))


def _parse_ping(kind: str, args: list[Any]) -> Command:
    return Command(kind, options=_options(args, kind, "", allowed=("reply_port",)))


def _parse_job(kind: str, args: list[Any]) -> Command:
    request_id = _request_id(args, kind)
    positional = ["input"] if kind in NEEDS_INPUT else []
    positional += ["prompt"] if kind in NEEDS_PROMPT else []
    values = {}
    for index, name in enumerate(positional, start=1):
        if len(args) <= index or not isinstance(args[index], str):
            form = " ".join(f"{n}:s" for n in ["request_id", *positional])
            raise ProtocolError(BAD_ARGUMENTS, f"{kind} takes {form} first, then key/value pairs", request_id)
        values[name] = _text(args[index], name, request_id)
    if "prompt" in values and not values["prompt"].strip():
        raise ProtocolError(BAD_VALUE, "the prompt is empty", request_id)
    if "input" in values and not values["input"].strip():
        raise ProtocolError(BAD_VALUE, "the input path is empty", request_id)
    options = _options(args[1 + len(positional) :], kind, request_id)
    _check_job_options(kind, options, request_id)
    return Command(kind, request_id, values.get("prompt", ""), values.get("input", ""), options)


def _check_job_options(kind: str, options: dict[str, Any], request_id: str) -> None:
    if options.get("beat_unit", 4) not in BEAT_UNITS:
        raise ProtocolError(BAD_VALUE, beat_unit_problem(options["beat_unit"]), request_id)
    problems = JobSpec.from_options(kind, "", "", options).shape_problems()
    if problems:  # options that do not go together: the message's shape, not a value, is wrong
        raise ProtocolError(BAD_ARGUMENTS, problems[0], request_id)
    if options.get("priority", "daw") not in PRIORITIES:
        raise ProtocolError(
            BAD_VALUE,
            f"priority must be one of {', '.join(PRIORITIES)}, got {options['priority']!r}",
            request_id,
        )


def _parse_tempo(kind: str, args: list[Any]) -> Command:
    if not args:
        return Command("tempo")
    options = {}
    positional = list(itertools.takewhile(lambda value: not isinstance(value, str), args))  # before keys
    for name, value in zip(("bpm", "beats_per_bar", "beat_unit"), positional, strict=False):
        options[name] = _number(value, name, OPTIONS[name], "")
    if options.get("beat_unit", 4) not in BEAT_UNITS:
        raise ProtocolError(BAD_VALUE, beat_unit_problem(options["beat_unit"]))
    return Command("tempo", options=options | _options(args[len(options) :], "tempo", "", ("reply_port",)))


# Each address's parser (the bridge's `handlers` answer the same addresses).
PARSERS: dict[str, Callable[[str, list[Any]], Command]] = {
    **dict.fromkeys(JOB_KINDS, _parse_job),
    "cancel": _parse_cancel,
    "status": _parse_status,
    "ping": _parse_ping,
    "presets": _parse_presets,
    "models": _parse_models,
    "tempo": _parse_tempo,
}


def _request_id(args: list[Any], kind: str) -> str:
    if not args or not isinstance(args[0], str):
        raise ProtocolError(BAD_ARGUMENTS, f"{kind} needs a request id (a string) as its first argument")
    request_id = args[0]
    if not 0 < len(request_id) <= MAX_REQUEST_ID or not request_id.isprintable():
        raise ProtocolError(
            BAD_VALUE,
            f"a request id is 1 to {MAX_REQUEST_ID} printable characters",
            request_id[:MAX_REQUEST_ID] if request_id.isprintable() else "",  # the reply must encode
        )
    return request_id


def _text(value: str, name: str, request_id: str) -> str:
    problem = text_problem(name, value)
    if problem is not None:
        raise ProtocolError(BAD_VALUE, problem, request_id)
    return value


def is_reply(address: str) -> bool:
    """True for an address only the bridge sends (`/soundloom/pong`, `/soundloom/error`, ...)."""
    return address.startswith(PREFIX) and address[len(PREFIX) :] in REPLY_KINDS


def _number(value: Any, name: str, option: Option, request_id: str) -> Any:
    problem = option.type_problem(name, value)
    if problem is not None:
        raise ProtocolError(BAD_ARGUMENTS, problem, request_id)
    problem = option.value_problem(name, value)
    if problem is not None:
        raise ProtocolError(BAD_VALUE, problem, request_id)
    return option.kind(value)


def _options(
    pairs: list[Any], kind: str, request_id: str, allowed: tuple[str, ...] | None = None
) -> dict[str, Any]:
    if len(pairs) % 2:
        raise ProtocolError(BAD_ARGUMENTS, f"{kind}: options come in key/value pairs", request_id)
    options: dict[str, Any] = {}
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        if key == TOKEN:  # checked by the bridge before parsing; never journaled or passed on
            continue
        if not isinstance(key, str) or key not in OPTIONS or (allowed is not None and key not in allowed):
            names = ", ".join(allowed if allowed is not None else OPTIONS)
            raise ProtocolError(
                BAD_ARGUMENTS, f"{kind}: unknown option {str(key)[:40]!r} (known: {names})", request_id
            )
        if key in options:
            raise ProtocolError(BAD_ARGUMENTS, f"{kind}: option {key} given twice", request_id)
        option = OPTIONS[key]
        if option.kind is str and isinstance(value, str):
            value = _text(value, key, request_id)
        options[key] = _number(value, key, option, request_id)
    return options


def request_id_of(address: Any, args: list[Any]) -> str:
    """The request id a message names, read without parsing it ("" for queries that take none)."""
    kind = address[len(PREFIX) :] if isinstance(address, str) and address.startswith(PREFIX) else ""
    names_one = kind in (*JOB_KINDS, "cancel") or (kind == "status" and len(args) % 2 == 1)
    first = args[0] if args else None
    if names_one and isinstance(first, str) and 0 < len(first) <= MAX_REQUEST_ID and first.isprintable():
        return first
    return ""


def token_of(args: list[Any]) -> str | None:
    """The `token` a message carries, found before it is parsed (an unauthorized one is not parsed)."""
    for key, value in itertools.pairwise(args):
        if key == TOKEN and isinstance(value, str):
            return value
    return None


def reply_port_of(args: list[Any]) -> int | None:
    """The `reply_port` of a message, found even when the rest of it is malformed, so that its error
    reply reaches the port the client listens on."""
    for key, value in itertools.pairwise(args):
        if (
            key == "reply_port"
            and isinstance(value, int)
            and not isinstance(value, bool)
            and 0 < value < 65536
        ):
            return value
    return None
