"""Why a job is refused or failed: one exception with a code a client can branch on, and the message
for people. The OSC layer sends it as `/soundloom/error request_id code message`; the command line and a
batch print the message."""

from __future__ import annotations

from ..errors import BridgeError

BAD_MESSAGE = "bad_message"  # not OSC, or an address outside /soundloom/
UNKNOWN_ADDRESS = "unknown_address"
BAD_ARGUMENTS = "bad_arguments"  # missing, extra or mistyped arguments
BAD_VALUE = "bad_value"  # well typed but out of range
BAD_PATH = "bad_path"  # an input outside the allowed roots, missing, or unreadable
BUSY = "busy"  # the queue is full
DUPLICATE_ID = "duplicate_id"
NOT_FOUND = "not_found"  # cancel/status of an unknown request id
CANCELLED = "cancelled"
FAILED = "failed"  # the engine or the render refused or broke; the message says why
INTERRUPTED = "interrupted"  # the bridge stopped while the job was queued or running
UNAVAILABLE = "unavailable"  # the bridge cannot take it now (journal or disk full, a fault); try again
UNAUTHORIZED = "unauthorized"  # the bridge has a token (--token-file) and the request did not carry it


class JobError(BridgeError):
    """A job refused (or a request the bridge cannot take), with its code and the request's id."""

    def __init__(self, code: str, message: str, request_id: str = ""):
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id
