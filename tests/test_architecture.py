"""The package's shape, checked from its source with ``ast`` (docs/architecture.md explains it).

* Layers: a module imports (at module level) only from its own layer or below::

      cli  ->  app (+ report, db)  ->  profiler, store  ->  actions, distributed  ->  segments  ->  tag, behavior
           ->  topics  ->  text  ->  ingest, privacy  ->  errors, schema, config, _fs

* No import circle among topicprofile's modules, nor among its packages (``app``, ``actions``,
  ``tag``...: a module of one importing a module of another is an arrow between the two).
* No function-level import of a topicprofile module outside ``cli/`` (where it keeps ``--help``
  fast): an import inside a function is how a circle hides.
* No module over ~400 lines unless listed with its reason.

The ``KNOWN_*`` lists are the debts the refactor has not paid yet, each with who pays it. A listed
item that is gone fails too, so the lists only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "topicprofile"
MAX_LINES = 400

#: (first dotted prefix that matches wins) -> rank; a module may import a module of equal or lower rank.
LAYERS: list[tuple[str, int]] = [
    ("topicprofile.__main__", 9),
    ("topicprofile.cli", 9),
    ("topicprofile.app", 8),
    ("topicprofile.db", 8),  # the profile database and audiences: stores what the profiler made
    ("topicprofile.store_legacy", 8),  # converts old pickled models: a one-off job over profiler + store
    ("topicprofile.profiler_params", 7),  # the estimator's parameter checks and stage parts
    ("topicprofile.profiler_state", 7),  # the fitted estimator as plain data (to_state / from_state)
    ("topicprofile.profiler", 7),
    ("topicprofile.store", 7),
    ("topicprofile.model_reader", 7),  # the store's reading half without pandas: tag-text loads only it
    ("topicprofile.store_lock", 7),  # the model folder's lock, under store.py
    ("topicprofile.store_versions", 7),  # versions/<n> and publishing, under store.py and the lock
    ("topicprofile.actions", 6),
    ("topicprofile.report", 6),  # the HTML report: pure aggregates of a fitted model's tables (its data sources: app/report_sources)
    ("topicprofile.distributed", 6),  # the Dask backend the profiler hands its heavy steps to (dask imported lazily)
    ("topicprofile.segments", 5),
    ("topicprofile.tag", 4),
    ("topicprofile.behavior", 4),
    ("topicprofile.topics", 3),
    ("topicprofile.text", 2),
    ("topicprofile.ingest", 1),
    ("topicprofile.privacy", 1),  # scrubbing happens where documents are built (ingest) and tokens made
    ("topicprofile.errors", 0),
    ("topicprofile.schema", 0),
    ("topicprofile.config", 0),
    ("topicprofile._fs", 0),
    ("topicprofile", 0),  # __init__: the public API, re-exported lazily (module __getattr__)
]

#: (importer, imported) module-level imports that point up a layer, and who fixes them.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}

#: (importer, imported) function-level topicprofile imports outside cli/, and who removes them.
KNOWN_FUNCTION_LEVEL: dict[tuple[str, str], str] = {
    ("topicprofile.report", "topicprofile.report.charts"): (
        "altair + vl-convert take seconds to import: loaded only when a report draws its charts"
    ),
}

#: Modules over MAX_LINES lines, with the reason (or the plan) for each.
KNOWN_LARGE: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path) -> Iterator[str]:
    """The topicprofile modules an import statement loads (``from pkg import mod`` -> ``pkg.mod``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    for name in names:
        if name.startswith("topicprofile") and (target := _resolve(name)) and target != module:
            yield target


def _imports(module: str, path: Path) -> tuple[set[str], set[str]]:
    """(module-level, function-level) topicprofile imports; ``if TYPE_CHECKING:`` blocks are skipped."""
    top: set[str] = set()
    inner: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (inner if in_function else top).update(_targets(child, module, path))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return top, inner


IMPORTS = {module: _imports(module, path) for module, path in MODULES.items()}


def _rank(module: str) -> int:
    return next(rank for prefix, rank in LAYERS if module == prefix or module.startswith(prefix + "."))


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        assert isinstance(_rank(module), int), module


def test_module_level_imports_point_down() -> None:
    upward = {
        (module, target)
        for module, (top, _) in IMPORTS.items()
        for target in top
        if _rank(target) > _rank(module)
    }
    unexpected = sorted(upward - KNOWN_UPWARD.keys())
    assert not unexpected, f"imports pointing up a layer (see docs/architecture.md): {unexpected}"
    paid = sorted(KNOWN_UPWARD.keys() - upward)
    assert not paid, f"fixed, remove from KNOWN_UPWARD: {paid}"


def _find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of ``graph`` (node -> the nodes it points to) as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (circle := visit(target)):
                return circle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def _package(module: str) -> str:
    """The package (or top-level module) ``topicprofile.<name>`` a module belongs to: ``app``, ``tag``, ``profiler``..."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _package_graph(imports: dict[str, tuple[set[str], set[str]]]) -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the module-level imports (``importer -> imported``) behind the arrow."""
    graph: dict[str, dict[str, list[str]]] = {}
    for module, (top, _) in sorted(imports.items()):
        for target in sorted(top):
            if _package(target) != _package(module):
                edges = graph.setdefault(_package(module), {}).setdefault(_package(target), [])
                edges.append(f"{module} -> {target}")
    return graph


def test_no_import_circle() -> None:
    circle = _find_circle({module: top for module, (top, _) in IMPORTS.items()})
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_no_import_circle_between_packages() -> None:
    """``app`` may import ``actions`` or ``actions`` ``app``, not both: a package is a layer's room."""
    graph = _package_graph(IMPORTS)
    circle = _find_circle({package: set(targets) for package, targets in graph.items()})
    through = [edge for a, b in zip(circle or [], (circle or [])[1:]) for edge in graph[a][b]]
    assert circle is None, f"import circle between packages: {' -> '.join(circle or [])}; through {through}"


def test_the_circle_finders_see_circles() -> None:
    """The two circle checks above can fail: app <-> actions as it was (app/jobs.py used actions/clv.py,
    actions/jobs.py used app/tables.py) is a circle between packages, though no module imports itself."""
    before = {
        "topicprofile.app.jobs": ({"topicprofile.actions.clv", "topicprofile.app.tables"}, set()),
        "topicprofile.actions.jobs": ({"topicprofile.app.tables", "topicprofile.actions.clv"}, set()),
        "topicprofile.actions.clv": ({"topicprofile.errors"}, set()),
        "topicprofile.app.tables": ({"topicprofile._fs"}, set()),
    }
    assert _find_circle({module: top for module, (top, _) in before.items()}) is None
    graph = _package_graph(before)
    assert graph["app"]["actions"] == ["topicprofile.app.jobs -> topicprofile.actions.clv"]
    circle = _find_circle({package: set(targets) for package, targets in graph.items()})
    assert circle == ["actions", "app", "actions"]
    assert _find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_function_level_imports_of_the_package_outside_cli() -> None:
    inner = {
        (module, target)
        for module, (_, function_level) in IMPORTS.items()
        if not module.startswith(("topicprofile.cli", "topicprofile.__main__"))
        for target in function_level
    }
    unexpected = sorted(inner - KNOWN_FUNCTION_LEVEL.keys())
    assert not unexpected, f"imports inside functions (a hidden circle?): {unexpected}"
    paid = sorted(KNOWN_FUNCTION_LEVEL.keys() - inner)
    assert not paid, f"fixed, remove from KNOWN_FUNCTION_LEVEL: {paid}"


def test_modules_stay_small() -> None:
    sizes = {module: len(path.read_text(encoding="utf-8").splitlines()) for module, path in MODULES.items()}
    large = {module for module, n in sizes.items() if n > MAX_LINES}
    unexpected = {module: sizes[module] for module in sorted(large - KNOWN_LARGE.keys())}
    assert not unexpected, f"modules over {MAX_LINES} lines (split them, or list them with a reason): {unexpected}"
    paid = sorted(KNOWN_LARGE.keys() - large)
    assert not paid, f"now at most {MAX_LINES} lines, remove from KNOWN_LARGE: {paid}"


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    """The checks above can fail: the scanner finds module-level, function-level and relative imports."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from topicprofile.ingest import load\n"
        "import topicprofile.text.tokenizer as tok\n"
        "if TYPE_CHECKING:\n"
        "    from topicprofile.profiler import TopicProfiler\n"
        "def f():\n"
        "    from ..store import load_model\n"
        "    return load_model\n",
        encoding="utf-8",
    )
    top, inner = _imports("topicprofile.app.probe", source)
    assert top == {"topicprofile.ingest.load", "topicprofile.text.tokenizer"}
    assert inner == {"topicprofile.store"}


def test_tests_mirror_the_tree() -> None:
    """A stage's tests live in ``tests/<stage>/`` (``e2e/`` for whole runs); only top-level modules'
    tests (``profiler``, ``store``, ``_fs``...) stay at the top of ``tests/``."""
    tests = Path(__file__).resolve().parent
    stages = {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").is_file()}
    folders = {path.parent.name for path in tests.rglob("test_*.py") if path.parent != tests}
    assert folders - stages == {"e2e"}, f"test folders without a package folder: {sorted(folders - stages - {'e2e'})}"
    top_modules = {path.stem.lstrip("_") for path in PACKAGE.glob("*.py")} | {"fit_validation", "run_options", "store_safety"}
    flat = {path.stem.removeprefix("test_") for path in tests.glob("test_*.py")} - {"architecture"}
    assert flat <= top_modules, f"stage tests at the top of tests/: {sorted(flat - top_modules)}"
