"""OSC over UDP and over TCP with SLIP framing (OSC 1.1), and the reply targets each hands the bridge.

Receiving threads only decode packets and pass (address, args, reply) on; a packet that is not OSC gets a
`bad_message` error reply instead of an exception. Nothing here knows what the messages mean.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Callable
from typing import Any

from ..osc_codec import PacketError, StreamFrames, decode, encode, frame_packet
from .protocol import BAD_MESSAGE, BUSY

MAX_UDP_PACKET = 65_507
MAX_TCP_CLIENTS = 32
MAX_PENDING_PACKETS = 20_000  # received, not yet handled

Handler = Callable[[str, list[Any], "ReplyTarget"], None]


class ReplyTarget:
    """Where one request's replies go. `record` is what the journal keeps to reach it after a restart."""

    def send(self, address: str, args: list[Any]) -> None:
        """The base target reaches no one (a TCP peer after a restart); subclasses deliver."""

    def for_port(self, port: int | None) -> ReplyTarget:
        """The same peer at another port (the request's `reply_port`); only datagram peers have one."""
        return self

    def record(self) -> dict[str, Any]:
        return {}


class UdpReply(ReplyTarget):
    def __init__(self, sock: socket.socket, address: tuple[str, int]):
        self.sock, self.address = sock, address

    def send(self, address: str, args: list[Any]) -> None:
        with contextlib.suppress(OSError):  # the client went away; replies to it are best effort
            self.sock.sendto(encode(address, args), self.address)

    def for_port(self, port: int | None) -> ReplyTarget:
        return self if port is None else UdpReply(self.sock, (self.address[0], port))

    def record(self) -> dict[str, Any]:
        return {"udp": list(self.address)}


class TcpReply(ReplyTarget):
    """Replies on the request's own connection, or, with `reply_port`, over a new connection to the
    sender's host at that port (what liblo's `oscdump osc.tcp://:PORT` listens for), in the same framing."""

    def __init__(self, connection: socket.socket, lock: threading.Lock, slip: bool):
        self.connection, self.lock, self.slip = connection, lock, slip
        self.peer: tuple[str, int] | None = None

    def send(self, address: str, args: list[Any]) -> None:
        data = frame_packet(encode(address, args), self.slip)
        if self.peer is not None:
            with contextlib.suppress(OSError), socket.create_connection(self.peer, timeout=2) as peer:
                peer.sendall(data)
            return
        with self.lock, contextlib.suppress(OSError):
            self.connection.sendall(data)

    def for_port(self, port: int | None) -> ReplyTarget:
        if port is None:
            return self
        other = TcpReply(self.connection, self.lock, self.slip)
        other.peer = (self.connection.getpeername()[0], port)
        return other


def deliver_packet(packet: bytes, reply: ReplyTarget, handler: Handler) -> None:
    try:
        messages = decode(packet)
    except PacketError as error:
        reply.send("/soundloom/error", ["", BAD_MESSAGE, str(error)])
        return
    for address, args in messages:
        handler(address, args, reply)


class UdpServer:
    """Datagrams: one thread drains the socket into a bounded in-memory queue (so a burst never
    overflows the kernel's buffer), another decodes and handles them in arrival order."""

    def __init__(self, host: str, port: int, handler: Handler):
        self.handler = handler
        self._inbox: queue.Queue[tuple[bytes, tuple[str, int]]] = queue.Queue(MAX_PENDING_PACKETS)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)  # ride out bursts
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
            try:
                self._inbox.put_nowait((packet, sender))
            except queue.Full:
                UdpReply(self.sock, sender).send("/soundloom/error", ["", BUSY, "too many packets at once"])

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            try:
                packet, sender = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            deliver_packet(packet, UdpReply(self.sock, sender), self.handler)


class TcpServer:
    """OSC 1.1 stream transport: SLIP-framed packets; replies return on the same connection."""

    def __init__(self, host: str, port: int, handler: Handler):
        self.handler = handler
        self.sock = socket.create_server((host, port), reuse_port=False)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="soundloom-tcp", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        with self._lock:
            for connection in list(self._clients):
                connection.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                if len(self._clients) >= MAX_TCP_CLIENTS:
                    connection.close()
                    continue
                self._clients.add(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        frames = StreamFrames()
        lock = threading.Lock()
        connection.settimeout(0.5)
        try:
            while not self._stop.is_set():
                try:
                    chunk = connection.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                try:
                    packets = frames.feed(chunk)
                except PacketError as error:
                    TcpReply(connection, lock, bool(frames.slip)).send(
                        "/soundloom/error", ["", BAD_MESSAGE, str(error)]
                    )
                    if not frames.slip:  # a length prefix cannot be resynchronised
                        return
                    continue
                for packet in packets:
                    reply = TcpReply(connection, lock, bool(frames.slip))
                    if isinstance(packet, PacketError):
                        reply.send("/soundloom/error", ["", BAD_MESSAGE, str(packet)])
                    else:
                        deliver_packet(packet, reply, self.handler)
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(connection)
            connection.close()
