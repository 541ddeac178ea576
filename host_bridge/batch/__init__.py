"""Batch rendering of sound libraries: a job list (JSONL or CSV) to finished, named, loudness-matched takes.

`job_list` reads and checks the list with the bridge's own parser, `plan` turns jobs into takes (keys,
seeds, names) and units of work, `worker` renders units (in this process or as a Ray actor), `dispatch`
runs them and `manifest` records every finished take exactly once, so a rerun resumes.
"""
