"""The replies that end a job, sent the same way by the bridge as a job finishes and by recovery after a
restart: one `result` per file then `done`, or `error`."""

from __future__ import annotations

from ..delivery.take_file import TakeFile
from .protocol import PREFIX
from .transport import ReplyTarget


def send_done(reply: ReplyTarget, request_id: str, results: list[TakeFile]) -> None:
    """A finished job's replies: per file its `warning`s and one `result`, then `done` with every path."""
    for result in results:
        for warning in result.warnings:
            reply.send(PREFIX + "warning", [request_id, result.path, warning])
        seed = result.seed if result.seed is not None else -1
        reply.send(
            PREFIX + "result", [request_id, result.path, float(result.duration_s), result.sample_rate, seed]
        )
    reply.send(PREFIX + "done", [request_id, *(result.path for result in results)])


def send_error(reply: ReplyTarget, request_id: str, code: str, message: str) -> None:
    reply.send(PREFIX + "error", [request_id, code, message])
