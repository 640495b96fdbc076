"""The experiments' layers, read statically from the source (imports inside functions count too).

The sweep folder's files (yolo_alpha.sweep_folder) are below both the runner and the report; the pool protocol is
below the backends; the shared figure helpers (charts) are below both the plot and the report packages, which never
import each other.
"""

from __future__ import annotations

import pytest
from test_architecture import MODULES, imported_names, in_package


def imports_of(module: str) -> set[str]:
    """Return the yolo_alpha modules that `module` imports anywhere in its file (``from a import b``: a.b if one)."""
    return {name for name in imported_names(MODULES[module]) if name in MODULES}


def modules_of(package: str) -> list[str]:
    """Return `package` and its modules (dotted), subpackages included."""
    return sorted(name for name in MODULES if in_package(name, package))


def within(names: set[str], package: str) -> set[str]:
    return {name for name in names if in_package(name, package)}


def test_the_reader_resolves_submodules():
    assert imports_of("yolo_alpha.sweep.runner") >= {"yolo_alpha.run", "yolo_alpha.sweep_folder"}


def test_the_folder_module_imports_neither_the_sweep_nor_the_report():
    imported = imports_of("yolo_alpha.sweep_folder")
    assert within(imported, "yolo_alpha.sweep") == set() and within(imported, "yolo_alpha.report") == set()


def test_the_runner_reads_results_through_the_folder_module_not_the_report():
    assert within(imports_of("yolo_alpha.sweep.runner"), "yolo_alpha.report") == set()
    assert "yolo_alpha.sweep_folder" in imports_of("yolo_alpha.report.tables")


@pytest.mark.parametrize("backend", ["yolo_alpha.sweep.process_backend", "yolo_alpha.sweep.ray_backend"])
def test_a_backend_imports_only_the_pool_and_the_grid(backend):
    assert within(imports_of(backend), "yolo_alpha.sweep") == {"yolo_alpha.sweep.pool", "yolo_alpha.sweep.grid"}


def test_the_pool_is_below_every_backend():
    assert within(imports_of("yolo_alpha.sweep.pool"), "yolo_alpha.sweep") == {"yolo_alpha.sweep.grid"}


@pytest.mark.parametrize(
    ("package", "other"), [("yolo_alpha.plot", "yolo_alpha.report"), ("yolo_alpha.report", "yolo_alpha.plot")]
)
def test_plot_and_report_never_import_each_other(package, other):
    reaching = {module: within(imports_of(module), other) for module in modules_of(package)}
    assert {module: names for module, names in reaching.items() if names} == {}


def test_charts_import_neither_plot_nor_report():
    for module in modules_of("yolo_alpha.charts"):
        imported = imports_of(module)
        assert within(imported, "yolo_alpha.plot") | within(imported, "yolo_alpha.report") == set(), module
