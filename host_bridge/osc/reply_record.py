"""Where a job's replies go and who asked, typed: the transport makes one, the journal keeps it as JSON
(so a restarted bridge still answers a waiting DAW), the app shows its label.

The JSON is the journal's: {"udp": [host, port]}, {"spool": path}, {"origin": "app"} or {} (TCP: a
connection does not outlive the process), with "host" beside it when the request named the DAW that sent
it (daw/hosts.py): {"spool": path, "host": "Ardour"}. Records without it (older journals) read as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UDP, TCP, SPOOL, LOCAL = "udp", "tcp", "spool", "local"


@dataclass(frozen=True)
class ReplyRecord:
    transport: str  # UDP, TCP, SPOOL, or LOCAL (in this process: the app, a test)
    address: str = ""  # UDP: the host; SPOOL: the replies file; LOCAL: who ("app")
    port: int = 0  # UDP only
    host: str = ""  # the DAW that asked, where known (REAPER, Ardour, Live)

    def to_dict(self) -> dict[str, Any]:
        named = {"host": self.host} if self.host else {}
        if self.transport == UDP:
            return {"udp": [self.address, self.port], **named}
        if self.transport == SPOOL:
            return {"spool": self.address, **named}
        if self.transport == LOCAL:
            return {"origin": self.address, **named}
        return named

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ReplyRecord:
        """A journaled record (written by this version or an older one)."""
        named = str(raw.get("host", ""))
        if "udp" in raw:
            host, port = raw["udp"]
            return cls(UDP, str(host), int(port), named)
        if "spool" in raw:
            return cls(SPOOL, str(raw["spool"]), host=named)
        if "origin" in raw:
            return cls(LOCAL, str(raw["origin"]), host=named)
        return cls(TCP, host=named)

    def label(self) -> str:
        """Who asked, for people: "REAPER (spool)", "Live (OSC 127.0.0.1:53000)", "app", "OSC (TCP)"."""
        if self.transport == LOCAL:
            return self.address
        way = {UDP: f"OSC {self.address}:{self.port}", SPOOL: "spool", TCP: "OSC (TCP)"}[self.transport]
        if self.host:
            return f"{self.host} ({way})"
        return f"a spool client ({way})" if self.transport == SPOOL else way
