"""Which DAW asked: the hosts' own clients name their requests `HOST-...`. The REAPER and Ardour scripts
call `soundloom_spool.lua`'s `request_id(prefix, clock)` with "reaper" (`reaper/soundloom_bridge.lua`) and
"ardour" (`ardour/soundloom_ardour.lua`); `soundloom live` names its requests "live-..." (cli/client.py).
A request id is the client's choice, so this is a label for people, never a permission."""

from __future__ import annotations

HOSTS = {"reaper": "REAPER", "ardour": "Ardour", "live": "Live"}  # an id's prefix -> the host's name


def request_host(request_id: str) -> str:
    """The DAW a request came from, by its id's prefix; "" when no host's client made it."""
    return HOSTS.get(request_id.partition("-")[0], "")
