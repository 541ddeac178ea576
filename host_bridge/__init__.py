"""The host bridge: command line, and (later) OSC service, job flow and DAW scripts."""
