"""Issue 22's crash figures: `kill -9` at random points of running jobs on a real `soundloom serve`, with
`--on-restart fail` and with `--on-restart rerun`; after the restarts every accepted job must have exactly
one terminal reply, no take twice or orphaned, no partial file, nothing open in the journal.

    python3 -m benchmarks.bridge_kills [--kills 100] [--seed 22]

It builds the tests' tiny random checkpoint (the figures are about the bridge, not the model).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.helpers.kill_rounds import kill_rounds
from tests.helpers.reference_checkpoint import build_checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100, help="per restart policy")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="soundloom-kills-"))
    model = build_checkpoint(work / "tiny-audioldm")
    failures = 0
    for on_restart in ("fail", "rerun"):
        report = kill_rounds(model, work / on_restart, args.kills, on_restart, args.seed)
        print(report.line() + f" (one job runs {report.job_s:.1f} s unkilled)", flush=True)
        for problem in report.problems:
            print(f"  {problem}")
        failures += len(report.problems)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
