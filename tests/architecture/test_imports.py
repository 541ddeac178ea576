"""Every import in the package, function-level ones included, read from the source: no cycles (imports under
`if TYPE_CHECKING:` included: two modules that know each other for annotations are still one tangle), and
every arrow that runs points the way docs/architecture.md draws it; no source file past ~400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"engine": "engine", "host_bridge": "host_bridge", "gui": "gui", "presets": "presets"}

# The layers, top to bottom (docs/architecture.md): each part may import itself and the parts below it.
LAYERS = [
    "host_bridge.cli",
    "gui",
    "host_bridge.batch",
    "host_bridge.cluster",
    "host_bridge.osc",
    "host_bridge.jobs",
    "host_bridge.daw",
    "host_bridge.delivery",
    "host_bridge.shared",
    "presets",
    "engine",
]
ALLOWED = {part: set(LAYERS[position:]) for position, part in enumerate(LAYERS)}
SUB_PACKAGES = ("cli", "batch", "cluster", "osc", "jobs", "daw", "delivery")


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    top, _, rest = module.partition(".")
    if top != "host_bridge":
        return top
    sub = rest.split(".")[0]
    return f"host_bridge.{sub}" if sub in SUB_PACKAGES else "host_bridge.shared"


def imports_of(path: Path, with_type_only: bool = False) -> set[str]:
    """The package modules `path` imports, at any depth of its code; those under TYPE_CHECKING blocks
    only `with_type_only` (they never run)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    type_only = (
        set()
        if with_type_only
        else {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for statement in block.body
            for node in ast.walk(statement)
        }
    )
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("soundloom."):
                target = node.module.removeprefix("soundloom.")
            else:
                continue
            for alias in node.names:  # `from . import job` imports the module job
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("soundloom.") for a in node.names if a.name.startswith("soundloom.")
            }
    return {name for name in found if name in MODULES}


SOURCES = {module_name(path): path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")}
MODULES = set(SOURCES)
GRAPH = {module: imports_of(path) for module, path in SOURCES.items()}  # the imports that run
WHOLE_GRAPH = {module: imports_of(path, with_type_only=True) for module, path in SOURCES.items()}
MAX_LINES = 420  # "about 400": a file past it is asking to be split
MODEL_DEFINITIONS = (
    "engine/models/"  # a whole network in one readable file (nanoGPT's model.py) may run longer
)


def test_the_walk_sees_function_level_and_annotation_imports() -> None:
    assert "engine.loader" in GRAPH["engine.api"]  # imported inside load_engine
    assert "gui.app" in GRAPH["host_bridge.cli.app"]  # imported inside run_app
    assert "engine.families.audioldm" not in GRAPH["engine.families"]  # imported by name (importlib)
    source = ROOT / "tests" / "architecture" / "typed_only_example.py"
    assert imports_of(source) == set() and imports_of(source, with_type_only=True) == {"engine.model"}


def cycles_in(graph: dict[str, set[str]]) -> list[str]:
    cycles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def wrong_arrows(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if part_of(target) not in ALLOWED[part_of(module)]
    ]


def test_the_checks_catch_a_cycle_and_an_upward_import() -> None:
    graph = {
        "engine.pipeline": {"engine.editing"},
        "engine.editing": {"engine.pipeline", "host_bridge.osc.job"},
    }
    graph["host_bridge.osc.job"] = set()
    assert cycles_in(graph) == ["engine.editing -> engine.pipeline -> engine.editing"]
    assert wrong_arrows(graph) == ["engine.editing imports host_bridge.osc.job"]


def test_no_import_cycles_not_even_for_annotations() -> None:
    assert cycles_in(WHOLE_GRAPH) == []


def test_no_source_file_is_past_about_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in SOURCES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
        and not str(path.relative_to(ROOT)).startswith(MODEL_DEFINITIONS)
    }
    assert long == {}


def test_every_import_points_the_allowed_way() -> None:
    assert wrong_arrows(GRAPH) == []


def test_surfaces_other_than_osc_reach_the_engine_through_the_jobs_layer() -> None:
    """Batch, the cluster, the app and the command line's generate and edit build JobSpecs; the OSC
    protocol is the bridge's wire, and the jobs layer knows no OSC (the layer table checks that)."""
    surfaces = [m for m in GRAPH if m.startswith(("host_bridge.batch", "host_bridge.cluster", "gui"))]
    surfaces += ["host_bridge.cli.generate"]
    wire = {"host_bridge.osc.protocol"}
    through_osc = sorted(m for m in surfaces if GRAPH[m] & wire)
    assert through_osc == []
    assert {"host_bridge.batch.job_list", "gui.link"} <= set(surfaces)  # the walk does see them


def test_only_the_command_line_starts_the_app() -> None:
    importers = sorted(module for module, targets in GRAPH.items() if "gui.app" in targets)
    assert importers == ["host_bridge.cli.app"]


def test_the_app_never_reaches_torch() -> None:
    """Nothing the app imports, directly or through the bridge, imports torch at module level."""

    def torch_at_top(module: str) -> bool:
        tree = ast.parse(SOURCES[module].read_text())
        return any(
            isinstance(node, ast.Import | ast.ImportFrom)
            and any((getattr(node, "module", None) or a.name).split(".")[0] == "torch" for a in node.names)
            for node in tree.body
        )

    def top_level_imports(module: str) -> set[str]:
        tree = ast.parse(SOURCES[module].read_text())
        outer = ast.Module(
            body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], type_ignores=[]
        )
        return {target for target in GRAPH[module] if target.split(".")[-1] in ast.unparse(outer)}

    seen, queue = set(), [m for m in MODULES if m.startswith("gui")]
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        queue += top_level_imports(module)
    assert sorted(m for m in seen if torch_at_top(m)) == []
    assert {"engine.limits", "engine.requests"} <= seen  # the walk does reach the engine's torch-free parts


def test_every_package_folder_is_installed() -> None:
    """pyproject's explicit package list names every folder of modules (a wheel would leave one out)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"soundloom." + module_name(path) for path in SOURCES.values() if path.name == "__init__.py"}
    assert folders == listed
    # A folder of modules without __init__.py would be a namespace package pyproject cannot list; the one
    # script allowed outside a package makes the built-in impulse response beside it (data, not code).
    loose = sorted(
        str(p.relative_to(ROOT)) for p in SOURCES.values() if not (p.parent / "__init__.py").is_file()
    )
    assert loose == ["presets/builtin/impulses/make_hall.py"]
