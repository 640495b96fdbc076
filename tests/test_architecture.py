"""The house rules, read statically from the source: the import graph of yolo_alpha has no cycle, only the adapter
folder touches Ultralytics internals, the experiments do not reach into the adapter, and no module is too long.

Imports inside functions count as much as top-level ones: a cycle hidden by a deferred import is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import ultralytics

PACKAGE = Path(__file__).resolve().parents[1] / "yolo_alpha"
ADAPTER = "yolo_alpha.ultralytics"
EXPERIMENTS = (
    "yolo_alpha.sweep",
    "yolo_alpha.report",
    "yolo_alpha.plot",
    "yolo_alpha.charts",
    "yolo_alpha.reproduce",
    "yolo_alpha.suites",
)
MAX_LINES = 400


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


def test_the_reader_sees_deferred_and_relative_imports():
    # The graph is only as good as the parser: the CLI imports almost everything inside its functions.
    cli = set(imported_names(MODULES["yolo_alpha.cli"]))
    assert {"yolo_alpha.run", "yolo_alpha.sweep"} <= cli
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


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


def test_no_module_is_too_long():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}
