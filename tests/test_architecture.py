"""The house rules, read statically from the source: the import graph of yolo_alpha has no cycle, only the adapter
folder touches Ultralytics internals, the experiments do not reach into the adapter, and no module is too long.

Imports inside functions count as much as top-level ones: a cycle hidden by a deferred import is still a cycle. The
layer rules hold on the transitive closure of the graph, with the edge Python adds itself: importing ``a.b.c`` first
runs ``a/b/__init__.py`` (:func:`runtime_graph`), so a module that reaches the adapter through a package's
``__init__`` breaks them as much as a direct import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import ultralytics

PACKAGE = Path(__file__).resolve().parents[1] / "yolo_alpha"
ADAPTER = "yolo_alpha.ultralytics"
RUN = "yolo_alpha.run"
PUBLIC_API = (RUN, "yolo_alpha.evaluate")  # the package's own doors to training and evaluation, above the adapter
EXPERIMENTS = (
    "yolo_alpha.sweep",
    "yolo_alpha.report",
    "yolo_alpha.plot",
    "yolo_alpha.charts",
    "yolo_alpha.reproduce",
    "yolo_alpha.suites",
)
MAX_LINES = 400
# Read results and draw: never reach training, evaluation or the adapter, through any chain (sweep and suites do train).
READERS = ("yolo_alpha.report", "yolo_alpha.reproduce", "yolo_alpha.plot", "yolo_alpha.charts")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_names(path: Path) -> list[str]:
    """Return every module path ``path`` imports (absolute, resolved), wherever in the file the import sits.

    ``from a.b import c`` yields ``a.b.c`` when that is a module of ours, else ``a.b``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                names.append(candidate if candidate in MODULES else base)
    return names


def our_import_graph() -> dict[str, set[str]]:
    return {
        name: {target for target in imported_names(path) if target in MODULES and target != name}
        for name, path in MODULES.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def runtime_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Return ``graph`` plus an edge from each module to its parent package: what importing it runs first.

    Only for reachability: the parent edge closes no real cycle (a package's ``__init__`` runs before its modules), so
    the cycle check reads the graph of the files' own imports.
    """
    return {
        name: targets | {parent} if (parent := name.rpartition(".")[0]) in graph else set(targets)
        for name, targets in graph.items()
    }


def import_chains(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Return every module reachable from ``start`` mapped to one shortest import chain to it (``[start, …, it]``).

    Breadth-first, in sorted order, so a failing rule always names the same chain.
    """
    chains = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target not in chains:
                    chains[target] = [*chains[node], target]
                    following.append(target)
        frontier = following
    del chains[start]
    return chains


def chains_into(graph: dict[str, set[str]], packages: tuple[str, ...], forbidden: tuple[str, ...]) -> dict[str, str]:
    """Return {module: "a -> b -> c"} for each module under ``packages`` that reaches a module under ``forbidden``."""
    found = {}
    for name in sorted(graph):
        if any(in_package(name, p) for p in packages):
            reached = [c for t, c in import_chains(graph, name).items() if any(in_package(t, f) for f in forbidden)]
            if reached:
                found[name] = " -> ".join(min(reached, key=lambda c: (len(c), c)))
    return found


def test_the_reader_sees_deferred_and_relative_imports():
    # The graph is only as good as the parser: the CLI imports almost everything inside its functions.
    cli = set(imported_names(MODULES["yolo_alpha.cli"]))
    assert {"yolo_alpha.run", "yolo_alpha.sweep"} <= cli
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_closure_follows_chains_cycles_and_parent_packages():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}}
    assert import_chains(graph, "a") == {"b": ["a", "b"], "c": ["a", "b", "c"], "d": ["a", "b", "c", "d"]}
    assert import_chains(graph, "d") == {}
    assert chains_into(graph, ("e",), ("d",)) == {"e": "e -> a -> b -> c -> d"}
    # p.m imports only p.low, yet importing it runs p/__init__.py, which imports p.top
    packaged = {"p": {"p.top"}, "p.low": set(), "p.m": {"p.low"}, "p.top": set()}
    assert "p.top" not in import_chains(packaged, "p.m")
    assert import_chains(runtime_graph(packaged), "p.m")["p.top"] == ["p.m", "p", "p.top"]
    assert find_cycle(packaged) is None


def test_the_import_graph_has_no_cycle():
    assert find_cycle(our_import_graph()) is None


def test_only_the_adapter_imports_ultralytics_internals():
    public = set(ultralytics.__all__)
    offenders = []
    for name, path in MODULES.items():
        if in_package(name, ADAPTER):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                offenders += [f"{name}: import {a.name}" for a in node.names if a.name.startswith("ultralytics.")]
            elif isinstance(node, ast.ImportFrom) and not node.level and in_package(node.module or "", "ultralytics"):
                internal = node.module != "ultralytics" or any(alias.name not in public for alias in node.names)
                offenders += [f"{name}: from {node.module} import {', '.join(a.name for a in node.names)}"] * internal
    assert offenders == []


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiments_do_not_reach_into_the_adapter(experiment):
    graph = our_import_graph()
    reaching = {
        name: sorted(t for t in targets if in_package(t, ADAPTER))
        for name, targets in graph.items()
        if in_package(name, experiment)
    }
    assert {name: targets for name, targets in reaching.items() if targets} == {}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiments_reach_the_adapter_only_through_the_public_api(experiment):
    # Read transitively: with run.py and yolo_alpha.evaluate taken out, nothing reaches the adapter.
    graph = runtime_graph(our_import_graph())
    outside_api = {n: {t for t in ts if not any(in_package(t, p) for p in PUBLIC_API)} for n, ts in graph.items()}
    assert chains_into(outside_api, (experiment,), (ADAPTER,)) == {}


@pytest.mark.parametrize("reader", READERS)
def test_readers_reach_neither_training_nor_the_adapter(reader):
    reaching = chains_into(runtime_graph(our_import_graph()), (reader,), (ADAPTER, RUN))
    assert reaching == {}


@pytest.mark.parametrize("reader", READERS)
def test_importing_a_reader_loads_neither_training_nor_the_adapter(reader):
    # The static rule checked against Python itself: import every module of the package in a fresh interpreter.
    modules = [n for n in MODULES if in_package(n, reader)]
    code = (
        f"import importlib, sys; [importlib.import_module(m) for m in {modules!r}]; "
        f"print(sorted(n for n in sys.modules if n == {RUN!r} or n.startswith({ADAPTER!r})))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_reproduce_does_not_reach_the_report():
    assert chains_into(runtime_graph(our_import_graph()), ("yolo_alpha.reproduce",), ("yolo_alpha.report",)) == {}


def test_no_module_is_too_long():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}
