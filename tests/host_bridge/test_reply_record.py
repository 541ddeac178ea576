"""Who asked, as the bridge records it and the app shows it: the transport, and the DAW a request's id
names (daw/hosts.py); the journal's JSON round-trips, and older records still read."""

from __future__ import annotations

import pytest
from soundloom.host_bridge.daw.hosts import request_host
from soundloom.host_bridge.osc.reply_record import LOCAL, SPOOL, TCP, UDP, ReplyRecord


@pytest.mark.parametrize(
    ("record", "label"),
    [
        (ReplyRecord(SPOOL, "/s/replies/reaper-1.json", host="REAPER"), "REAPER (spool)"),
        (ReplyRecord(SPOOL, "/s/replies/ardour-1.json", host="Ardour"), "Ardour (spool)"),
        (ReplyRecord(SPOOL, "/s/replies/mine.json"), "a spool client (spool)"),
        (ReplyRecord(UDP, "127.0.0.1", 53000, "Live"), "Live (OSC 127.0.0.1:53000)"),
        (ReplyRecord(UDP, "10.0.0.2", 9001), "OSC 10.0.0.2:9001"),
        (ReplyRecord(TCP), "OSC (TCP)"),
        (ReplyRecord(LOCAL, "app"), "app"),
    ],
)
def test_each_origin_is_labelled_and_round_trips_through_the_journal(record: ReplyRecord, label: str) -> None:
    assert record.label() == label
    assert ReplyRecord.from_dict(record.to_dict()) == record


def test_records_journaled_before_hosts_were_named_still_read() -> None:
    assert ReplyRecord.from_dict({"spool": "/s/replies/x.json"}) == ReplyRecord(SPOOL, "/s/replies/x.json")
    assert ReplyRecord.from_dict({"udp": ["127.0.0.1", 9001]}) == ReplyRecord(UDP, "127.0.0.1", 9001)
    assert ReplyRecord.from_dict({}) == ReplyRecord(TCP)


def test_the_host_comes_from_the_prefix_each_hosts_client_gives_its_ids() -> None:
    # The ids the scripts make: soundloom_spool.lua's request_id("reaper" | "ardour", clock), and
    # `soundloom live`'s "live-<hex>".
    assert request_host("reaper-1765100000-123456-654321") == "REAPER"
    assert request_host("ardour-1765100000-123456-654321") == "Ardour"
    assert request_host("live-0123456789ab") == "Live"
    assert request_host("cli-0123456789ab") == "" and request_host("app-12") == "" and request_host("") == ""
