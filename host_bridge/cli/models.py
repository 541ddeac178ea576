"""`soundloom models`: inspect a checkpoint, list the ones at hand, package a trained one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...engine.default_model import DEFAULT_NAME, list_models, resolve_model
from ...engine.licence import licence_of, read_licence


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="work with checkpoints")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    inspect = model_commands.add_parser("inspect", help="components, parameter counts and sample rate")
    inspect.set_defaults(run=run_inspect)
    inspect.add_argument("model", help="'default', a checkpoint folder or a hub id")
    inspect.add_argument("--allow-pickle", action="store_true")
    listing = model_commands.add_parser("list", help="the built-in model and the published ones in the cache")
    listing.set_defaults(run=run_list)
    package = model_commands.add_parser("package", help="copy a checkpoint with fp16 weights (half the size)")
    package.set_defaults(run=run_package)
    package.add_argument("model", type=Path, help="checkpoint folder, e.g. a training run's model/")
    package.add_argument("--out", type=Path, required=True, help="a new folder")


def run_inspect(args: argparse.Namespace) -> int:
    from ...engine.checkpoints import inspect_checkpoint  # imports torch: only for this command

    summary = inspect_checkpoint(resolve_model(args.model), args.allow_pickle)
    licence = licence_of(args.model)  # after inspecting it: a hub id is in the cache now
    print(f"checkpoint   {summary.folder}")
    print(f"family       {summary.family} ({summary.pipeline})")
    print(f"sample rate  {summary.sample_rate} Hz")
    print(f"licence      {licence.label}" + (f"  {licence.link}" if licence.link else ""))
    print(f"             {licence.evidence or licence.source}")
    print(f"  {'component':<18} {'class':<30} {'parameters':>11} {'fp16':>9} {'fp32':>9}")
    for component in summary.components:
        print(f"  {component.name:<18} {component.class_name:<30} {_sizes(component.parameters)}")
    total = sum(component.parameters for component in summary.components)
    print(f"  {'total':<18} {'':<30} {_sizes(total)}")
    return 0


def _sizes(parameters: int) -> str:
    """Parameter count and the weights' memory at 2 and 4 bytes each."""
    if not parameters:
        return f"{'(no weights)':>11}"
    return f"{parameters / 1e6:10.2f}M {parameters * 2 / 2**20:7.1f}MB {parameters * 4 / 2**20:7.1f}MB"


def run_list(args: argparse.Namespace) -> int:
    entries = list_models()
    if not entries:
        print("no models: the built-in one is missing and the Hugging Face cache holds none", file=sys.stderr)
        return 0
    print(f"{'MODEL':<36} {'FAMILY':<10} {'LICENCE':<34} WHERE")
    for entry in entries:
        licence = read_licence(entry.location, hub_id=None if entry.name == DEFAULT_NAME else entry.name)
        print(f"{entry.name:<36} {entry.family:<10} {licence.label:<34} {entry.location}")
    return 0


def run_package(args: argparse.Namespace) -> int:
    from ...engine.training.run import package_checkpoint  # imports torch: only for this command

    print(package_checkpoint(args.model, args.out))
    return 0
