"""Options several commands share (model, sampling, engine), their help read from the limits table, and
the two things every generating command does with them: build a request and load the model."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ...engine.default_model import DEFAULT_NAME
from ...engine.licence import Licence
from ...engine.limits import (
    DEVICES_HELP,
    DTYPE_HELP,
    DTYPE_NAMES,
    ETA,
    GUIDANCE_SCALE,
    REQUEST_LIMITS,
    SAMPLER,
    SEED,
    STEPS,
    VARIATIONS,
    Limit,
)
from ..cluster.connect import RAY_MODES, WorkerShape, connect, worker_shape
from ..delivery.files import OutputError
from ..engine_loader import EngineLoader, model_loader
from ..errors import BridgeError
from ..jobs.runner import JobRunner
from ..jobs.spec import JobSpec

MIN_TOKEN = 16  # characters: a secret shorter than this is guessable


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help=DEVICES_HELP)
    parser.add_argument("--dtype", default=DTYPE_NAMES[0], choices=DTYPE_NAMES, help=DTYPE_HELP)
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="also load .bin pickle weights (read with torch.load(weights_only=True))",
    )


def add_cluster_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--ray and the shape of its actors, for `batch` and `serve`."""
    cluster = parser.add_argument_group("Ray cluster (pip install 'soundloom[cluster]')")
    cluster.add_argument(
        "--ray",
        metavar="auto|local|ADDRESS",
        default=None,
        help=f"{what} on Ray actors: auto (the running cluster), local (start one here) or host:port",
    )
    cluster.add_argument(
        "--workers", type=int, default=None, help="actors to start (default: as many as fit)"
    )
    cluster.add_argument("--cpus-per-worker", type=float, default=None, help="CPU actors' cores (default 1)")
    cluster.add_argument(
        "--gpus-per-worker",
        type=float,
        default=None,
        help="GPUs per actor, fractions share a card (default: 1 on a cluster with GPUs, else 0)",
    )
    cluster.add_argument(
        "--retries", type=int, default=2, help="times work is sent again when its worker is lost (default 2)"
    )


def join_cluster(args: argparse.Namespace) -> tuple[Any, WorkerShape]:
    """Join the cluster --ray names and size the actor pool from --workers and the per-worker shares."""
    if args.ray not in RAY_MODES and ":" not in args.ray:
        raise BridgeError(f"--ray takes auto, local or a head node's host:port, not {args.ray!r}")
    if args.retries < 0:
        raise BridgeError(f"--retries must be 0 or more, got {args.retries}")
    ray = connect(args.ray)
    shape = worker_shape(ray.cluster_resources(), args.workers, args.cpus_per_worker, args.gpus_per_worker)
    sys.stderr.write(f"Ray: {shape.describe()}\n")
    return ray, shape


def add_generation_options(parser: argparse.ArgumentParser, loop: bool = True, rerank: bool = True) -> None:
    parser.add_argument(
        "--model",
        default="default",
        help="'default' (built in), a checkpoint folder, or a hub id, e.g. cvssp/audioldm-s-full-v2",
    )
    # Defaults are None so a prompt preset's settings apply unless an option is given explicitly; the
    # request's own defaults (engine/limits.py) apply to what neither sets.
    parser.add_argument("--negative", default=None, help="what the sound should not be")
    parser.add_argument(
        "--transcript", default="", help="speech checkpoints (AudioLDM 2 gigaspeech/ljspeech): the words"
    )
    for limit in (STEPS, GUIDANCE_SCALE, SEED, SAMPLER, ETA, VARIATIONS):
        add_limit_option(parser, limit)
    if loop:
        parser.add_argument(
            "--loop", action=argparse.BooleanOptionalAction, default=None, help="seamless at the wrap point"
        )
    if rerank:
        parser.add_argument(
            "--rerank", action="store_true", help="order the variations by CLAP score, best first"
        )
    add_out_option(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing files named by --out")
    add_engine_options(parser)


OUT_HELP = "a .wav file, or a folder (ending in / it is made if missing: --out sfx/)"


class OutOption(argparse.Action):
    """--out as a Path, and whether it was typed as a folder: `Path("sfx/")` forgets the trailing
    separator, which is how users say "a folder, make it" (as cp and rsync read it)."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option: Any = None) -> None:
        setattr(namespace, self.dest, Path(values))
        namespace.out_is_folder = str(values).endswith(("/", os.sep))


def add_out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, action=OutOption, help=OUT_HELP)
    parser.set_defaults(out_is_folder=False)


def make_out_folder(args: argparse.Namespace) -> None:
    """Make the --out folder typed with a trailing separator, if it is missing (not its parents: a typo
    must not grow a tree). Called after the request is checked, before any slow work."""
    out: Path = args.out
    if not args.out_is_folder or out.is_dir():
        return
    if os.path.lexists(out):
        raise OutputError(f"--out {out}/ is a file, not a folder")
    if not out.parent.is_dir():
        raise OutputError(f"--out {out}/: folder {out.parent} does not exist")
    try:
        out.mkdir()
    except OSError as error:
        raise OutputError(f"--out {out}/: cannot create the folder ({error.strerror or error})") from None


def add_limit_option(parser: argparse.ArgumentParser, limit: Limit, help: str = "", **kwargs: Any) -> None:
    """A request option from its limits row: the row's flag, its range and default in the help. It stays
    None unless given, so a prompt preset's setting applies and the engine's default after that."""
    kind = str if limit.choices else int if limit.whole else float
    words = help or limit.describes
    text = f"{words}, {limit.help()}" if words else limit.help()
    if limit is SEED:
        text += "; default: a random seed, printed"
    parser.add_argument(limit.cli, type=kind, default=None, help=text, **kwargs)


def flag_dest(limit: Limit) -> str:
    """argparse's attribute for a row's flag: --fade-s would be fade_s."""
    return limit.cli.removeprefix("--").replace("-", "_")


def job_spec(
    args: argparse.Namespace,
    operation: str,
    prompt: str,
    input_path: Path | None = None,
    preset_fields: dict[str, Any] | None = None,
    render: dict[str, Any] | None = None,
) -> JobSpec:
    """The job the command line asks for: explicit options win over the prompt preset's settings, which
    win over the engine's defaults (a field left None); `render`: the render options' fields."""
    fields = {name: value for name, value in (preset_fields or {}).items() if name != "prompt"}
    explicit = {limit.field: getattr(args, flag_dest(limit), None) for limit in REQUEST_LIMITS}
    explicit |= {
        "negative_prompt": args.negative,
        "transcript": args.transcript or None,
        "loop": getattr(args, "loop", None),
        "rerank": getattr(args, "rerank", False) or None,
        "start_s": getattr(args, "start", None),
        "end_s": getattr(args, "end", None),
    }
    fields.update({name: value for name, value in explicit.items() if value is not None})
    return JobSpec(operation, prompt, str(input_path or ""), **fields, **(render or {}))


def load_runner(args: argparse.Namespace) -> JobRunner:
    """The one job runner (jobs/runner.py) holding the model named by --model, loaded now on --device in
    --dtype; a non-commercial licence is said on stderr."""
    name = args.model or DEFAULT_NAME
    if Path(name).is_dir():  # a folder by its absolute path, so the take's provenance names it from anywhere
        name = str(Path(name).resolve())
    runner = JobRunner(engine_loader(args), name)
    if sys.stderr.isatty():  # a person waiting at a terminal; a script's stderr stays one line per error
        runner.load_listeners.append(say_loading)
    tell_licence(runner.model_name, runner.load().licence)
    return runner


def say_loading(model: str, seconds: float | None) -> None:
    """The loading line on stderr: a model takes seconds to load, and a silent start looks hung."""
    if seconds is None:
        sys.stderr.write(f"loading model {model} …\n")
    else:
        sys.stderr.write(f"model loaded in {seconds:.1f} s\n")


def tell_licence(model: str, licence: Licence | None) -> None:
    """The one-line notice of a non-commercial licence, once per run; nothing for any other licence."""
    notice = licence.notice(model) if licence is not None else None
    if notice:
        sys.stderr.write(notice + "\n")


def engine_loader(args: argparse.Namespace) -> EngineLoader:
    """Loads a model by name with the command's --device, --dtype and --allow-pickle."""
    return model_loader(args.device, args.dtype, args.allow_pickle)


def read_token(path: Path) -> str:
    """The shared secret in `path` (its first line, spaces trimmed); BridgeError when it cannot serve as one.
    A file other accounts may read is accepted with a warning: they could send requests as anyone."""
    try:
        lines, mode = path.read_text(encoding="utf-8").strip().splitlines(), path.stat().st_mode
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise BridgeError(f"--token-file {path}: cannot read it ({reason})") from None
    token = lines[0].strip() if lines else ""
    if len(token) < MIN_TOKEN:
        raise BridgeError(
            f"--token-file {path}: the token is {len(token)} characters; use {MIN_TOKEN} or more "
            "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if mode & 0o077:
        sys.stderr.write(f"warning: --token-file {path} is readable by other accounts (chmod 600 it)\n")
    return token
