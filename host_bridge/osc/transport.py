"""OSC over UDP and over TCP with SLIP framing (OSC 1.1), and the reply targets each hands the bridge.

Receiving threads only decode packets and pass (address, args, reply) on; a packet that is not OSC gets a
`bad_message` error reply instead of an exception, and an exception in handling one message is logged
and costs only that message. Nothing here knows what the messages mean. What a flood can cost is bounded:
the UDP backlog in bytes (pings jump it), TCP clients in number, idle time and unfinished frames, replies
in outboxes that never block the thread that answers.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..jobs.errors import BAD_MESSAGE, BUSY
from ..logs import Tally
from ..osc_codec import PacketError, StreamFrames, decode, encode, frame_packet
from .outbox import Outbox
from .reply_record import TCP, UDP, ReplyRecord

log = logging.getLogger(__name__)

MAX_UDP_PACKET = 65_507
MAX_PENDING_PACKETS = 20_000  # received, not yet handled ...
MAX_PENDING_BYTES = 8 * 2**20  # ... and their bytes: beyond either, packets are dropped and counted
KERNEL_BUFFER = 2 * 2**20  # the socket's own queue: a burst of 1,000 requests fits; more waits longer
PING = b"/soundloom/ping\x00"  # answered on arrival, never queued behind the backlog
MAX_TCP_CLIENTS = 32  # at the cap, the client idle longest makes room for a newcomer
TCP_IDLE_S = 120.0  # a connection that completes no message for this long is closed
TCP_FRAME_S = 10.0  # a frame (or length prefix) begun must be complete within this
MAX_REPLY_PEERS = 64  # TCP `reply_port` receivers with replies in flight at once

Handler = Callable[[str, list[Any], "ReplyTarget"], None]


class ReplyTarget:
    """Where one request's replies go. `record` is what the journal keeps to reach it after a restart."""

    def send(self, address: str, args: list[Any]) -> None:
        """The base target reaches no one (a TCP peer after a restart); subclasses deliver."""

    def for_port(self, port: int | None) -> ReplyTarget:
        """The same peer at another port (the request's `reply_port`); only datagram peers have one."""
        return self

    def record(self) -> ReplyRecord:
        return ReplyRecord(TCP)


class UdpReply(ReplyTarget):
    def __init__(self, sock: socket.socket, address: tuple[str, int]):
        self.sock, self.address = sock, address
        # A reply addressed to the bridge's own socket would arrive as a message and be answered again:
        # one forged `reply_port` would loop for ever. It is dropped instead.
        self.to_self = points_at(sock, address)

    def send(self, address: str, args: list[Any]) -> None:
        if self.to_self:
            return
        with contextlib.suppress(OSError):  # the client went away; replies to it are best effort
            self.sock.sendto(encode(address, args), self.address)

    def for_port(self, port: int | None) -> ReplyTarget:
        return self if port is None else UdpReply(self.sock, (self.address[0], port))

    def record(self) -> ReplyRecord:
        return ReplyRecord(UDP, str(self.address[0]), int(self.address[1]))


class TcpReply(ReplyTarget):
    """Replies on the request's own connection (through its outbox), or, with `reply_port`, over a new
    connection to the sender's host at that port (what liblo's `oscdump osc.tcp://:PORT` listens for), in
    the same framing, through that receiver's outbox."""

    def __init__(self, client: TcpClient, server: TcpServer, peer: tuple[str, int] | None = None):
        self.client, self.server, self.peer = client, server, peer

    def send(self, address: str, args: list[Any]) -> None:
        data = frame_packet(encode(address, args), bool(self.client.frames.slip))
        if self.peer is None:
            self.client.outbox.put(data)
        else:
            self.server.send_to_peer(self.peer, data)

    def for_port(self, port: int | None) -> ReplyTarget:
        if port is None:
            return self
        return TcpReply(self.client, self.server, (self.client.address[0], port))


def points_at(sock: socket.socket, address: tuple[str, int]) -> bool:
    """True when `address` is where `sock` itself listens."""
    bound_host, bound_port = sock.getsockname()[:2]
    if address[1] != bound_port:
        return False
    if bound_host not in ("0.0.0.0", "::"):
        return address[0] == bound_host
    return _is_local(address[0])


@functools.lru_cache(maxsize=256)
def _is_local(host: str) -> bool:
    """Whether `host` is one of this machine's addresses (binding to it succeeds only then)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
        return True
    except OSError:
        return False


def deliver_packet(packet: bytes, reply: ReplyTarget, handler: Handler) -> None:
    try:
        messages = decode(packet)
    except PacketError as error:
        reply.send("/soundloom/error", ["", BAD_MESSAGE, str(error)])
        return
    for address, args in messages:
        try:
            handler(address, args, reply)
        except Exception:  # a defect: this message is lost, the thread that receives serves on
            log.exception("handling a message to %.80s failed", address)


class UdpServer:
    """Datagrams: one thread drains the socket into a bounded in-memory backlog (so a burst never
    overflows the kernel's buffer), another decodes and handles them in arrival order. Pings skip the
    backlog: the receiving thread answers them itself, so a health check is answered under any load."""

    def __init__(self, host: str, port: int, handler: Handler):
        self.handler = handler
        # The receiving thread only puts and counts what it received; the handling thread only takes and
        # counts what it handled: the backlog is the difference, with no lock on the receiving path.
        self._backlog: queue.SimpleQueue[tuple[bytes, tuple[str, int]]] = queue.SimpleQueue()
        self._received = [0, 0]  # packets, bytes (written by the receiving thread only)
        self._handled = [0, 0]  # packets, bytes (written by the handling thread only)
        self.dropped = Tally(log, "UDP packets dropped: the backlog was full")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, KERNEL_BUFFER)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="soundloom-udp", daemon=True)
        self._dispatcher = threading.Thread(target=self._dispatch, name="soundloom-udp-handler", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._dispatcher.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._dispatcher.join(2)
        self.sock.close()

    @property
    def backlog_bytes(self) -> int:
        return self._received[1] - self._handled[1]

    def reply_to(self, host: str, port: int) -> UdpReply:
        return UdpReply(self.sock, (host, port))

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                packet, sender = self.sock.recvfrom(MAX_UDP_PACKET)
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:  # e.g. an ICMP "port unreachable" from an earlier reply, on some systems
                continue
            if packet.startswith(PING):  # answered here, at once: nothing a ping needs can block
                deliver_packet(packet, UdpReply(self.sock, sender), self.handler)
                continue
            received, handled = self._received, self._handled
            if (
                received[0] - handled[0] >= MAX_PENDING_PACKETS
                or received[1] - handled[1] + len(packet) > MAX_PENDING_BYTES
            ):
                self.dropped.add()
                continue
            received[0] += 1
            received[1] += len(packet)
            self._backlog.put((packet, sender))

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            try:
                packet, sender = self._backlog.get(timeout=0.2)
            except queue.Empty:
                continue
            self._handled[0] += 1
            self._handled[1] += len(packet)
            deliver_packet(packet, UdpReply(self.sock, sender), self.handler)
            time.sleep(0)  # hand the GIL to the receiving thread now, not after the switch interval


class TcpClient:
    """One accepted connection: its framing, its outbox, and when it last did anything."""

    def __init__(self, connection: socket.socket, address: tuple[str, int]):
        self.connection, self.address = connection, address
        self.frames = StreamFrames()
        self.last_message = time.monotonic()
        self.frame_started: float | None = None
        self.outbox = Outbox(self._send, f"tcp-{address[0]}:{address[1]}", on_failure=lambda _: self.close())

    def _send(self, data: bytes) -> None:
        self.connection.sendall(data)  # the socket's timeout bounds a reader that never reads

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class TcpServer:
    """OSC 1.1 stream transport: SLIP-framed packets; replies return on the same connection."""

    def __init__(self, host: str, port: int, handler: Handler):
        self.handler = handler
        self.sock = socket.create_server((host, port), reuse_port=False)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._clients: dict[socket.socket, TcpClient] = {}
        self._peers: dict[tuple[str, int], Outbox] = {}
        self._lock = threading.Lock()
        self.peer_replies_dropped = Tally(log, "TCP replies dropped: too many reply_port receivers at once")
        self._thread = threading.Thread(target=self._accept, name="soundloom-tcp", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        with self._lock:
            for client in list(self._clients.values()):
                client.close()

    def send_to_peer(self, peer: tuple[str, int], data: bytes) -> None:
        """Deliver one framed reply over a new connection to `peer`, from that peer's outbox."""
        if points_at(self.sock, peer):
            return  # our own listener: it would answer the reply (see UdpReply)
        with self._lock:
            outbox = self._peers.get(peer)
            if outbox is None:
                for idle in [key for key, box in self._peers.items() if not box.pending()]:
                    del self._peers[idle]
                if len(self._peers) >= MAX_REPLY_PEERS:
                    self.peer_replies_dropped.add()
                    return
                outbox = self._peers[peer] = Outbox(functools.partial(_send_once, peer), f"peer-{peer[1]}")
        outbox.put(data)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, address = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            connection.settimeout(0.5)
            client = TcpClient(connection, address)
            with self._lock:
                if len(self._clients) >= MAX_TCP_CLIENTS:  # fair at the cap: the longest idle one goes
                    idle = min(self._clients.values(), key=lambda other: other.last_message)
                    del self._clients[idle.connection]
                    self._refuse(idle, f"closed to make room: the longest idle of {MAX_TCP_CLIENTS} clients")
                self._clients[connection] = client
            threading.Thread(
                target=self._serve, args=(client,), name="soundloom-tcp-client", daemon=True
            ).start()

    @staticmethod
    def _refuse(client: TcpClient, reason: str) -> None:
        """Say why (if the socket takes it now: this must not wait on a stalled reader), then close."""
        data = frame_packet(encode("/soundloom/error", ["", BUSY, reason]), bool(client.frames.slip))
        with contextlib.suppress(OSError):
            client.connection.send(data, socket.MSG_DONTWAIT)
        client.close()

    def _serve(self, client: TcpClient) -> None:
        try:
            while not self._stop.is_set() and self._read(client):
                pass
        except OSError:
            pass
        finally:
            with self._lock:
                if self._clients.get(client.connection) is client:
                    del self._clients[client.connection]
            client.close()
            client.connection.close()

    def _read(self, client: TcpClient) -> bool:
        """Read and handle what arrived; False when the connection is over."""
        now = time.monotonic()
        try:
            chunk = client.connection.recv(65536)
        except TimeoutError:
            if client.frame_started is not None and now - client.frame_started > TCP_FRAME_S:
                self._refuse(client, f"a frame left unfinished for {TCP_FRAME_S:g} s; closing")
                return False
            return now - client.last_message <= TCP_IDLE_S
        if not chunk:
            return False
        reply = TcpReply(client, self)
        try:
            packets = client.frames.feed(chunk)
        except PacketError as error:
            reply.send("/soundloom/error", ["", BAD_MESSAGE, str(error)])
            return bool(client.frames.slip)  # a length prefix cannot be resynchronised
        if packets:
            client.last_message = now
        if not client.frames.pending:
            client.frame_started = None
        elif packets or client.frame_started is None:
            client.frame_started = now  # a new frame began in this chunk
        for packet in packets:
            if isinstance(packet, PacketError):
                reply.send("/soundloom/error", ["", BAD_MESSAGE, str(packet)])
            else:
                deliver_packet(packet, reply, self.handler)
            time.sleep(0)  # as UdpServer._dispatch: a flood on one connection must not starve the others
        return True


def _send_once(peer: tuple[str, int], data: bytes) -> None:
    with socket.create_connection(peer, timeout=2) as connection:
        connection.sendall(data)
