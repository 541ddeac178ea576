"""The bridge as one service: journal, engine runner, job queue, UDP/TCP servers and the spool folder.

`soundloom serve` runs it headless; the desktop app runs the same service inside its own process and
watches its jobs. Starting it binds the ports (a clear BridgeError when one is taken); stopping it
cancels the running job and leaves queued ones journaled for the next start.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..daw.take_outbox import TakeOutbox
from ..daw.tempo import Tempo, TempoState
from ..delivery.deliver import DRY_FOLDER
from ..delivery.files import remove_stale_parts
from ..errors import BridgeError
from ..home import journal_path, output_folder
from ..jobs.file_roots import FileRoots
from ..jobs.planner import JobPlanner
from ..jobs.runner import JobRunner
from ..jobs.spec import JobSpec
from ..osc_codec import encode
from .bridge import Bridge
from .job import JobEvent
from .journal import Journal, JournalEntry
from .protocol import PREFIX, Command, job_command
from .spool import SpoolWatcher
from .transport import ReplyTarget, TcpServer, UdpServer

log = logging.getLogger(__name__)

DEFAULT_PORT = 9000


@dataclass
class ServiceSettings:
    host: str = "127.0.0.1"
    osc_port: int = DEFAULT_PORT  # 0: any free port
    tcp_port: int | None = None  # None: the UDP port
    tcp: bool = True
    roots: list[Path] = field(default_factory=list)
    output: Path | None = None  # None: the data folder's output/
    allow_temp: bool = True
    spool: Path | None = None  # None: the journal's folder's spool/
    journal: Path | None = None  # None: the data folder's jobs.sqlite
    queue_size: int = 32
    on_restart: str = "fail"
    bpm: float = 120.0
    workers: int = 1  # jobs run at once: one per engine actor of a Ray pool
    token: str = ""  # the shared secret UDP/TCP requests must carry (`--token-file`); empty: none
    insecure: bool = False  # allow listening beyond loopback without a token

    def problems(self) -> list[str]:
        found = [
            f"port {port} is outside 0-65535"
            for port in (self.osc_port, self.tcp_port)
            if port is not None and not 0 <= port <= 65535
        ]
        if self.queue_size < 1:
            found.append(f"the queue size must be 1 or more, got {self.queue_size}")
        if not (self.token or self.insecure or is_loopback(self.host)):
            found.append(
                f"listening on {self.host} lets other machines run jobs: give --token-file (a shared "
                "secret every request must carry), or --insecure to listen without one"
            )
        return found


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.0/8, ::1, localhost): no other machine reaches it."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


class BridgeService:
    def __init__(
        self,
        settings: ServiceSettings,
        load_model: Callable[[str], Any],
        model_name: str,
        model_names: Callable[[], list[str]] | None = None,
    ):
        """`load_model(name)` loads a model; `model_name` is the first to use; a request's `model` key
        may pick any of `model_names()`."""
        problems = settings.problems()
        if problems:
            raise BridgeError("; ".join(problems))
        self.settings = settings
        self.journal_path = settings.journal or journal_path()
        self.output = settings.output or output_folder()
        roots = FileRoots.make([*settings.roots, self.output], self.output, allow_temp=settings.allow_temp)
        self.tempo = TempoState(Tempo(settings.bpm, 4, "default"))
        planner = JobPlanner(roots, self.tempo, model_names=model_names or (lambda: [model_name]))
        self.runner = JobRunner(load_model, model_name, planner)
        self.journal = Journal(self.journal_path)
        self.udp: UdpServer | None = None
        self.tcp: TcpServer | None = None
        self.bridge = Bridge(
            self.runner,
            self.journal,
            settings.queue_size,
            make_udp_reply=lambda host, port: self.udp.reply_to(host, port),
            model_names=self.runner.planner.model_names,
            dropped=lambda: self.udp.dropped.total if self.udp else 0,
            workers=settings.workers,
            token=settings.token,
        )
        self.started = False
        self.spool_folder = settings.spool or self.journal_path.parent / "spool"
        self.spool: SpoolWatcher | None = SpoolWatcher(self.spool_folder, self.bridge.handle)
        self.take_outbox = TakeOutbox(self.spool_folder)  # the app's "Send to DAW", for REAPER and Ardour

    def start(self, listen: bool = True) -> list[JournalEntry]:
        """Bind the ports (unless not `listen`: for in-process callers only), recover the last run's
        unfinished jobs, start serving. Returns those jobs."""
        host = self.settings.host
        try:
            if listen:
                self.udp = UdpServer(host, self.settings.osc_port, self.bridge.handle)
            if listen and self.settings.tcp:
                tcp_port = self.settings.tcp_port if self.settings.tcp_port is not None else self.udp.port
                self.tcp = TcpServer(host, tcp_port, self.bridge.handle)
        except OSError as error:
            if self.udp is not None:
                self.udp.sock.close()
                self.udp = None
            raise BridgeError(
                f"cannot listen on {host}:{self.settings.osc_port}: {error.strerror or error}"
            ) from None
        if not listen:  # another bridge may own this spool folder: leave its requests to it
            self.spool = None
        for folder in (self.output, self.output / DRY_FOLDER):  # what a killed writer left half-written
            for path in remove_stale_parts(folder):
                log.info("removed %s, left by a writer that was killed", path)
        if self.spool is not None:
            self.spool.clean()
        leftovers = self.bridge.start(self.settings.on_restart)
        for server in (self.udp, self.tcp, self.spool):
            if server is not None:
                server.start()
        self.started = True
        return leftovers

    def describe(self) -> str:
        tcp = f", tcp {self.settings.host}:{self.tcp.port}" if self.tcp else ""
        spool = self.spool.requests.parent if self.spool else "off"
        return (
            f"udp {self.settings.host}:{self.udp.port if self.udp else '-'}{tcp}, spool {spool}, "
            f"output {self.output}, journal {self.journal_path}"
        )

    # ---- what the app and the command line use: the service's public face -------------------------

    def watch(self, watcher: Callable[[JobEvent], None]) -> None:
        """Hear every job's events (queued, progress, done, failed), whoever sent the job."""
        self.bridge.watchers.append(watcher)

    def submit(self, command: Command, reply: ReplyTarget) -> None:
        """Plan, journal and queue a parsed job command, as an OSC request is; ProtocolError says why not."""
        self.bridge.submit(command, reply)

    def submit_spec(self, request_id: str, spec: JobSpec, reply: ReplyTarget) -> None:
        """Plan, journal and queue a job, checked as its OSC request would be; JobError says why not."""
        self.bridge.submit(job_command(request_id, spec), reply)

    def cancel(self, request_id: str) -> bool:
        """Cancel a queued or running job; False when there is none with this id."""
        return self.bridge.queue.cancel(request_id)

    def latest_takes(self) -> list[str]:
        """The last finished job's files (what MIDI notes audition)."""
        return self.bridge.latest_takes()

    def last_message(self) -> tuple[float, str] | None:
        """(time.time(), address) of the latest request from any client."""
        return self.bridge.last_message

    @property
    def udp_port(self) -> int | None:
        """The UDP port the bridge listens on; None when it does not listen."""
        return self.udp.port if self.udp else None

    def push_take(self, path: str, duration_s: float, sample_rate: int, osc_port: int = 0) -> None:
        """Offer a finished take to the DAWs: the spool outbox their "Receive takes" actions read (REAPER,
        Ardour), and `/soundloom/take path duration rate` to an OSC listener on this machine's `osc_port`."""
        self.take_outbox.push(path, duration_s, sample_rate)
        if osc_port:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(
                    encode(PREFIX + "take", [path, float(duration_s), int(sample_rate)]),
                    ("127.0.0.1", osc_port),
                )

    def stop(self) -> None:
        if self.started:
            for server in (self.udp, self.tcp, self.spool):
                if server is not None:
                    server.stop()
            self.bridge.stop()
        self.journal.close()
