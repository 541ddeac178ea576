"""The OSC bridge: requests in (UDP, TCP, the spool folder), checked by the protocol, journaled, queued
and run on the engine; replies and typed job events out. `service.py` puts it together."""
