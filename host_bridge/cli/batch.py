"""`soundloom batch JOBS --out DIR`: render a job list into a sound library, here or on a Ray cluster."""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...engine.licence import licence_of
from ...presets import PresetLibrary, load_library
from ..batch.dispatch import RayPool, Recorder, Tally, run_local, run_on_ray
from ..batch.job_list import JobListError, read_job_list
from ..batch.manifest import Manifest
from ..batch.plan import Unit, name_takes, plan_units
from ..batch.worker import MARKER, TakeWorker, is_take
from ..daw.tempo import TempoState
from ..delivery.files import OutputError, check_writable, remove_stale_parts, write_text
from ..jobs.file_roots import FileRoots
from ..jobs.planner import JobPlanner
from ..logs import setup_logging
from .options import add_cluster_options, add_engine_options, join_cluster, tell_licence
from .progress import ProgressBar
from .render import add_render_options, delivery_from_args, render_fields

# The command line's render options that are OSC keys too: defaults for every job (a job's own key wins).
# --fx is not among them: it may name a preset file, which OSC refuses; plan.py applies it instead.
DEFAULT_KEYS = {"rate": "rate", "loudness": "loudness", "peak": "peak"}


def register(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser(
        "batch",
        help="render a job list (JSONL or CSV) into a folder, resumably; here or on a Ray cluster",
        description="Each line of JOBS is one job with the bridge's OSC keys, e.g. "
        '{"prompt": "glass shatter", "variations": 8, "duration": 2} or '
        '{"preset": "Footsteps", "vars": {"surface": "*"}}. '
        "Finished takes are recorded in DIR/manifest.jsonl; the same command again renders only what is "
        "missing. Exit status 0: every take is done; 1: some failed (listed); 2: nothing ran.",
    )
    batch.set_defaults(run=run_batch)
    batch.add_argument("jobs", type=Path, help="the job list: .jsonl (one JSON object a line) or .csv")
    batch.add_argument("--out", type=Path, required=True, help="the library folder (made if missing)")
    batch.add_argument(
        "--model", default="default", help="'default' (built in), a checkpoint folder, or a hub id"
    )
    batch.add_argument(
        "--root",
        type=Path,
        action="append",
        default=[],
        help="a folder job inputs may come from besides the list's own (repeatable)",
    )
    batch.add_argument(
        "--check", action="store_true", help="check the list and show the plan; render nothing"
    )
    add_cluster_options(batch, "render")
    batch.add_argument(
        "--collect",
        action="store_true",
        help="with --ray: ship every take back to write here (default: workers that see --out write there)",
    )
    batch.add_argument("--verbose", action="store_true", help="also print the log on stderr")
    add_render_options(batch, "{prompt}_{seed}_{variation}", dry=False)
    add_engine_options(batch)


def run_batch(args: argparse.Namespace) -> int:
    log_file = setup_logging(args.verbose)
    library = load_library()
    delivery_from_args(args, library)  # the command line's own render options, checked before the list
    out = args.out
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"--out {out}: cannot create the folder ({error.strerror or error})") from None
    check_writable(out)
    planner = planner_for(args, library)
    jobs, problems = read_job_list(args.jobs, library, _defaults(args))
    units, more = plan_units(jobs, planner, args.model, _render_defaults(args))
    if problems or more:  # every bad line, then the one-line error; an --out made for nothing goes
        error = JobListError(args.jobs, problems + more)
        sys.stderr.writelines(f"  {line}\n" for line in error.lines())
        if made:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise error
    manifest = Manifest(out)
    try:
        return _render(args, units, manifest, log_file)
    finally:
        manifest.close()


def _render(args: argparse.Namespace, units: list[Unit], manifest: Manifest, log_file: Path) -> int:
    out = args.out
    gone = set(manifest.missing_files())
    done = set(manifest.takes) - gone
    pending = [unit for unit in units if any(take.key not in done for take in unit.takes)]
    tally = Tally(total=sum(len(unit.takes) for unit in pending))
    tally.skipped = sum(len(unit.takes) for unit in units) - tally.total
    taken = {entry["file"] for key, entry in manifest.takes.items() if key in done}
    pending = name_takes(pending, out, args.model, taken, is_take)
    sys.stderr.write(
        f"batch: {len(units)} unit(s) from {args.jobs}; {tally.skipped} take(s) already done, "
        f"{tally.total} to render" + (f" ({len(gone)} recorded but deleted)" if gone else "") + "\n"
    )
    if args.check:
        for take in (take for unit in pending for take in unit.takes):
            print(f"line {take.line}\t{take.variation}/{take.variations}\tseed {take.seed}\t{take.name}")
        return 0
    tell_licence(args.model, licence_of(args.model))
    for path in remove_stale_parts(out):
        sys.stderr.write(f"removed {path.name}, left half-written by a killed writer\n")
    marker = secrets.token_hex(16)
    write_text(out / MARKER, marker)
    recorder = Recorder(manifest, out, tally, progress_line())
    model_args = (args.model, args.device, args.dtype, args.allow_pickle, str(out.resolve()))
    if pending and args.ray is None:
        worker = TakeWorker(*model_args)  # in this process: it writes into --out itself
        worker.start()
        run_local(pending, worker, Unit.request, recorder)
    elif pending:
        ray, shape = join_cluster(args)
        pool = RayPool((*model_args, marker, args.collect), shape, args.retries)
        run_on_ray(ray, pending, pool, Unit.request, recorder)
    manifest.write_csv()
    _summary(tally, out, log_file)
    return 1 if tally.failed else 0


def planner_for(args: argparse.Namespace, library: PresetLibrary) -> JobPlanner:
    """The bridge's planner for this batch: inputs from the list's folder and --root folders only; the
    one effect preset file it takes is the command line's --fx."""
    inputs = tuple(dict.fromkeys(folder.resolve() for folder in [args.jobs.parent, *args.root]))
    return JobPlanner(FileRoots(inputs, args.out.resolve()), TempoState(), library, fx_file=args.fx)


def _render_defaults(args: argparse.Namespace) -> dict[str, Any]:
    """The render settings every job takes unless it sets its own: the ones no job option carries (the
    rest are job options, `_defaults`), the --fx chain, the names, and no dry takes."""
    fields = render_fields(args)
    names = ("fx", "stereo_mode", "ceiling_dbtp", "fade_in_s", "fade_out_s")
    names += ("name_pattern", "catid", "creator", "source")
    return {name: fields[name] for name in names if name in fields} | {"keep_dry": False}


def _defaults(args: argparse.Namespace) -> dict[str, Any]:
    """The command line's render options as OSC keys, for every job that does not set its own."""
    defaults = {
        key: getattr(args, name) for key, name in DEFAULT_KEYS.items() if getattr(args, name) is not None
    }
    if args.channels != "same":
        defaults["channels"] = args.channels
    if args.bits != "32f":
        defaults["bit_depth"] = args.bits
    return defaults


def progress_line() -> Callable[[Tally], None]:
    """The command line's progress bar over the run's takes, its note the takes a minute, the ETA and the
    failures so far."""
    bar = ProgressBar("batch")

    def tick(tally: Tally) -> None:
        minutes = (time.monotonic() - tally.started) / 60
        rate = tally.finished / minutes if minutes > 0 else 0.0
        eta = (tally.total - tally.finished) / rate * 60 if rate else 0.0
        failed = f", {len(tally.failed)} failed" if tally.failed else ""
        bar(tally.finished, tally.total, f"{rate:.1f} takes/min, ETA {_clock(eta)}{failed}")

    return tick


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def _summary(tally: Tally, out: Path, log_file: Path) -> None:
    minutes = (time.monotonic() - tally.started) / 60
    rows = [
        ("rendered", tally.rendered, "this run"),
        ("adopted", tally.adopted, "written by a lost worker, found by its provenance"),
        ("skipped", tally.skipped, "already in the manifest"),
        ("failed", len(tally.failed), "listed below; the same command again retries them"),
    ]
    lines = [f"batch summary for {out} ({minutes:.1f} min, {tally.retried} unit(s) sent again):"]
    lines += [f"  {name:<9}{count:>6}  {note}" for name, count, note in rows]
    for line, variation, reason in tally.failed[:50]:
        lines.append(f"    line {line} variation {variation}: {reason}")
    if len(tally.failed) > 50:
        lines.append(f"    ... and {len(tally.failed) - 50} more (see {log_file})")
    sys.stderr.write("\n".join(lines) + "\n")
    print(out / "manifest.jsonl")
