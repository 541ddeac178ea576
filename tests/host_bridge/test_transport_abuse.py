"""The bridge's transports under abuse, in one process with real UDP and TCP sockets and the runner double:
a reply loop from one packet, a handler that raises, a journal that cannot be written, a UDP flood, idle
and stalled TCP clients, a `reply_port` where nobody accepts (issue 22, defects 1, 2, 8, 9, 12)."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from soundloom.host_bridge.osc import transport
from soundloom.host_bridge.osc.bridge import Bridge
from soundloom.host_bridge.osc.journal import Journal
from soundloom.host_bridge.osc.protocol import PREFIX
from soundloom.host_bridge.osc.transport import MAX_PENDING_BYTES, MAX_TCP_CLIENTS, TcpServer, UdpServer
from soundloom.host_bridge.osc_codec import PacketError, decode, encode, slip_encode

from ..helpers.bridge_doubles import Replies, RunnerDouble, wait_for


@dataclass
class Stack:
    bridge: Bridge
    journal: Journal
    udp: UdpServer
    tcp: TcpServer
    handled: list[str]  # every address the bridge was handed, in order


@pytest.fixture
def stack(tmp_path: Path):
    journal = Journal(tmp_path / "jobs.sqlite")
    servers: dict[str, Any] = {}
    bridge = Bridge(
        RunnerDouble(),
        journal,
        4,
        make_udp_reply=lambda host, port: servers["udp"].reply_to(host, port),
        dropped=lambda: servers["udp"].dropped.total,
    )
    bridge.start()
    handled: list[str] = []

    def handle(address: str, args: list[Any], reply: Any) -> None:
        handled.append(address)
        bridge.handle(address, args, reply)

    servers["udp"] = UdpServer("127.0.0.1", 0, handle)
    servers["tcp"] = TcpServer("127.0.0.1", 0, handle)
    servers["udp"].start()
    servers["tcp"].start()
    yield Stack(bridge, journal, servers["udp"], servers["tcp"], handled)
    servers["udp"].stop()
    servers["tcp"].stop()
    bridge.stop()
    journal.close()


def udp_client() -> socket.socket:
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    client.settimeout(0.1)
    return client


def replies_within(client: socket.socket, seconds: float) -> list[tuple[str, list]]:
    found, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found += decode(client.recv(65536))
        except TimeoutError:
            continue
    return found


def send(stack: Stack, client: socket.socket, address: str, args: list) -> None:
    client.sendto(encode(PREFIX + address, args), ("127.0.0.1", stack.udp.port))


def answers_ping(stack: Stack, client: socket.socket) -> None:
    send(stack, client, "ping", [])
    assert first_reply(client, "pong")


def first_reply(client: socket.socket, address: str, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for got, args in decode(client.recv(65536)):
                if got == PREFIX + address:
                    return args
        except TimeoutError:
            continue
    raise AssertionError(f"no {address} within {timeout} s")


def test_a_reply_port_at_the_bridge_itself_is_not_a_loop(stack: Stack) -> None:
    """Defect 1: `ping reply_port <the bridge's port>` made the bridge answer itself for ever."""
    client = udp_client()
    send(stack, client, "ping", ["reply_port", stack.udp.port])
    send(stack, client, "status", ["reply_port", stack.udp.port])
    time.sleep(1.0)
    assert stack.handled == [PREFIX + "ping", PREFIX + "status"]  # the pong and the status were dropped
    # A reply address arriving from anyone is never answered (an error to it could bounce for ever).
    for address in ("pong", "error", "done", "accepted"):
        client.sendto(encode(PREFIX + address, ["x", "bad_value", "text"]), ("127.0.0.1", stack.udp.port))
    assert replies_within(client, 0.5) == []
    # Over TCP, `reply_port` at the bridge's own listener is dropped too.
    with socket.create_connection(("127.0.0.1", stack.tcp.port)) as connection:
        connection.sendall(slip_encode(encode(PREFIX + "ping", ["reply_port", stack.tcp.port])))
        time.sleep(0.5)
    replies = [PREFIX + name for name in ("pong", "error", "done", "accepted")]
    assert stack.handled == [PREFIX + "ping", PREFIX + "status", *replies, PREFIX + "ping"]
    answers_ping(stack, client)


def test_a_journal_that_cannot_be_written_refuses_one_request_and_udp_serves_on(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 2: `database or disk is full` from the journal killed the UDP thread for good."""
    real = stack.journal._db
    disk_full = threading.Event()
    disk_full.set()

    class FullDisk:
        def execute(self, sql: str, *args: Any) -> Any:
            if disk_full.is_set() and sql.startswith(("INSERT", "UPDATE")):
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

    monkeypatch.setattr(stack.journal, "_db", FullDisk())
    client = udp_client()
    send(stack, client, "generate", ["full-1", "rain"])
    error = first_reply(client, "error")
    assert error[:2] == ["full-1", "unavailable"] and "database or disk is full" in error[2]
    disk_full.clear()  # space is back
    send(stack, client, "generate", ["full-2", "rain"])
    assert first_reply(client, "done")[0] == "full-2"


def test_a_handler_that_raises_costs_that_message_only(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def broken(spec: Any, request_id: str = "") -> None:  # the runner's plan(spec, request_id)
        raise KeyError("surprise")

    monkeypatch.setattr(stack.bridge.runner, "plan", broken)
    client = udp_client()
    send(stack, client, "generate", ["oops", "rain"])
    error = first_reply(client, "error")
    assert error[:2] == ["oops", "unavailable"] and "KeyError: 'surprise'" in error[2]
    assert any(record.exc_info and record.exc_info[0] is KeyError for record in caplog.records)
    answers_ping(stack, client)


def test_a_udp_flood_is_bounded_in_bytes_counted_and_ping_jumps_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 9: 6,000 x 60 KB packets queued 1.3 GB and left a ping waiting 80 s."""
    handler = stack.udp.handler

    def slow(address: str, args: list[Any], reply: Any) -> None:
        time.sleep(0.002)  # the dispatcher falls behind, as a busy machine does
        handler(address, args, reply)

    monkeypatch.setattr(stack.udp, "handler", slow)
    flood = encode(PREFIX + "status", ["x" * 60_000])
    sender = udp_client()
    peak = 0
    for _ in range(3000):
        sender.sendto(flood, ("127.0.0.1", stack.udp.port))
        peak = max(peak, stack.udp.backlog_bytes)
    client = udp_client()
    started = time.monotonic()
    send(stack, client, "ping", [])
    first_reply(client, "pong")
    waited = time.monotonic() - started
    assert peak <= MAX_PENDING_BYTES and stack.udp.dropped.total > 0
    assert waited < 0.5, f"the ping waited {waited:.3f} s behind the backlog"
    wait_for(lambda: stack.udp.backlog_bytes == 0, 60)
    send(stack, client, "status", [])
    status = first_reply(client, "status")
    assert status[-2:] == ["dropped", stack.udp.dropped.total]


def test_idle_tcp_clients_make_room_for_a_newcomer(stack: Stack) -> None:
    """Defect 8: 32 idle connections locked every other TCP client out, without a word."""
    idle = [socket.create_connection(("127.0.0.1", stack.tcp.port)) for _ in range(MAX_TCP_CLIENTS)]
    time.sleep(0.3)
    try:
        with socket.create_connection(("127.0.0.1", stack.tcp.port), timeout=5) as newcomer:
            newcomer.sendall(slip_encode(encode(PREFIX + "ping", [])))
            assert b"/soundloom/pong" in newcomer.recv(4096)
        idle[0].settimeout(5)
        words = idle[0].recv(4096)  # the longest idle was told why, then closed
        assert b"busy" in words and b"make room" in words
    finally:
        for connection in idle:
            connection.close()


def test_a_frame_left_unfinished_is_closed_with_a_reason(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slowloris and a stalled length prefix held a client slot for ever."""
    monkeypatch.setattr(transport, "TCP_FRAME_S", 0.5)
    for start in (b"\xc0/soundloom/pi", b"\x00\x00"):  # SLIP, and OSC 1.0's length prefix
        with socket.create_connection(("127.0.0.1", stack.tcp.port), timeout=5) as slow:
            slow.sendall(start)
            said = b""
            while chunk := slow.recv(4096):
                said += chunk
            assert b"unfinished" in said


def test_a_reply_port_where_nobody_accepts_does_not_slow_the_jobs(stack: Stack) -> None:
    """Defect 8: each reply to such a port cost the single worker 2 s (a 0.4 s job took 24.5 s)."""
    deaf = socket.socket()
    deaf.bind(("127.0.0.1", 0))
    deaf.listen(0)  # never accepts: after the backlog, connecting hangs until it times out
    try:
        with socket.create_connection(("127.0.0.1", stack.tcp.port)) as client:
            started = time.monotonic()
            for n in range(3):
                message = [f"deaf-{n}", "rain", "reply_port", deaf.getsockname()[1]]
                client.sendall(slip_encode(encode(PREFIX + "generate", message)))
            wait_for(lambda: [job_state(stack, f"deaf-{n}") for n in range(3)] == ["done"] * 3, 10)
            took = time.monotonic() - started
        assert took < 1.5, f"three jobs took {took:.1f} s behind replies nobody accepts"
    finally:
        deaf.close()


def job_state(stack: Stack, request_id: str) -> str | None:
    entry = stack.journal.latest(request_id)
    return entry.state if entry else None


def test_unknown_type_tags_are_refused_without_flooding_the_log(caplog) -> None:
    """Defect 12: python-osc logged "Unhandled parameter type" on the root logger for every bad tag."""
    packet = b"/soundloom/ping\x00,x\x00\x00"
    with pytest.raises(PacketError, match="unsupported OSC type tag 'x'"):
        decode(packet)
    assert [record for record in caplog.records if "Unhandled" in record.getMessage()] == []


def test_a_cancel_for_no_job_is_not_that_jobs_end(stack: Stack) -> None:
    """Defect 12: `not_found` carried the id, so a client waiting for that job took it as its end."""
    replies = Replies()
    stack.bridge.handle(PREFIX + "cancel", ["waiting-job"], replies)
    [(address, args)] = replies.sent
    assert (address, args[0], args[1]) == ("error", "", "not_found") and "'waiting-job'" in args[2]
