"""Everything between the engine and the outside world, in four parts and a few shared modules:

- `cli/`: the `soundloom` command, the composition root (one module per command group; starts the app);
- `osc/`: the bridge: the OSC protocol, its transports, jobs and their events, the journal, the spool
  folder, the engine runner and the service `serve` and the app run;
- `daw/`: the DAW side: the REAPER and Ardour scripts, the Ableton Live client, MIDI, tempo, the outbox
  of takes sent to the DAW, the ReaPack index;
- `delivery/`: a result becomes a file: render, names, provenance, atomic writes that never overwrite;
- shared: `home.py` (data folder, version), `errors.py` (`BridgeError`), `logs.py`, `osc_codec.py`.

docs/architecture.md says which part may import which.
"""
