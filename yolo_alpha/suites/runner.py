"""`yolo-alpha reproduce suite=…`: train a suite's warm starts, then its cells, then write its report.

Everything goes into one folder, ``<project>/<suite>`` (default runs/reproduce/<suite>): the warm starts under
``warm/<regime>/`` (each a one-cell sweep), the cells as the suite's sweep (``results.jsonl``, ``runs/``), the
report beside them. Every stage is a sweep, so a rerun of the same command continues where a kill left it, on any
backend the sweep verb takes. The cells name their warm start relative to the suite folder (``warm/anchor.pt``) and
a warm start the one it starts from relative to its own folder (``../task_aligned.pt``): the grids hold no path of
the machine, so the folder resumes under any spelling of ``project=`` (absolute, relative, through a symlink).
"""

from __future__ import annotations

import posixpath
import shutil
from pathlib import Path
from typing import Any, Callable

from yolo_alpha import run
from yolo_alpha.errors import ConfigError
from yolo_alpha.report import write_report
from yolo_alpha.suites.definitions import (
    WARM_START_DIR,
    Suite,
    WarmStart,
    get_suite,
    suite_grid,
    warm_start_cell,
    warm_start_owner,
    warm_start_run,
    warm_start_source,
    warm_start_source_name,
    warm_start_weights,
)
from yolo_alpha.sweep import SweepGrid, run_sweep, validate_cells
from yolo_alpha.sweep.backends import SweepOptions

DEFAULT_PROJECT = "runs/reproduce"
# Keys a warm start sets itself; every other base key (data, imgsz, batch, device, …) it shares with the cells.
OWN_WARM_START_KEYS = ("model", "loss", "epochs", "warmup_epochs", "pretrained", "seed")


def suite_sweep(suite: Suite, project: str | Path, overrides: dict[str, Any] | None = None) -> SweepGrid:
    """Return the suite's cells as one sweep in ``<project>/<suite>``: its base keys with `overrides` on top."""
    overrides = dict(overrides or {})
    swept = sorted({k for mapping in suite_grid(suite) for k in mapping} & set(overrides))
    if swept:
        raise ConfigError(f"{', '.join(swept)}: set by the suite per cell (its grid), so not a key=value of reproduce")
    return SweepGrid(suite.name, {**suite.base, **overrides}, tuple(suite_grid(suite)), str(project))


def warm_start_sweep(suite: Suite, warm: WarmStart, project: str | Path, overrides: dict[str, Any] | None = None):
    """Return the one-cell sweep of a warm start, in ``<project>/<suite>/warm/<regime>``.

    A warm start that starts from another names that one's weights relative to its own sweep folder.
    """
    suite_dir = Path(project) / suite.name
    shared = {k: v for k, v in {**suite.base, **(overrides or {})}.items() if k not in OWN_WARM_START_KEYS}
    regime = next(r for r in suite.regimes if r.name == warm.regime)
    base = {**shared, **regime.settings, **{k: v for k, v in warm.settings.items() if k != "model"}, "seed": 0}
    if warm.start_from is not None:
        own_folder = f"{WARM_START_DIR}/{warm.regime}"  # ../task_aligned.pt, or ../../../cpu/warm/task_aligned.pt
        base["pretrained"] = posixpath.relpath(warm_start_source_name(warm), own_folder)
    cell = warm_start_cell(warm)
    return SweepGrid(warm.regime, base, {k: (v,) for k, v in cell.params}, str(suite_dir / WARM_START_DIR))


def warm_start_chain(owner: Suite) -> list[Suite]:
    """Return the suites whose warm starts ``owner``'s need, first those they start from (``cpu/task_aligned``)."""
    chain: list[Suite] = []
    for warm in owner.warm_starts:
        source, _ = warm_start_source(warm) if warm.start_from is not None else (None, "")
        if source is not None and source is not owner:
            chain += [s for s in warm_start_chain(source) if s not in chain]
    return [*chain, owner]


def publish_weights(run_dir: Path, target: Path) -> None:
    """Copy a finished warm start's last.pt to `target` (atomically, once: an existing target is kept)."""
    if target.exists():
        return
    source = run_dir / "weights" / "last.pt"
    if not source.is_file():
        raise ConfigError(f"the warm start in {run_dir} finished without weights/last.pt; delete {run_dir} to redo it")
    partial = target.with_suffix(".pt.partial")
    shutil.copyfile(source, partial)
    partial.replace(target)


def reproduce(
    suite: str | Suite,
    project: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    dry_run: bool = False,
    options: SweepOptions | None = None,
    train: Callable[..., Any] = run.train,
) -> Path:
    """Return the suite's report after training what it lacks: warm starts first, then every cell.

    With `dry_run`, print each warm start's and each cell's status (done / resume / todo), their counts and the time
    left (from the cells' measured times, or what one cell is when none has finished), and write nothing; the path
    returned is then where a run would write the report.
    """
    suite = suite if isinstance(suite, Suite) else get_suite(suite)
    project = Path(project or DEFAULT_PROJECT)
    cells = suite_sweep(suite, project, overrides)
    owners = warm_start_chain(warm_start_owner(suite))  # a suite sharing another's trains (or finds) them in its folder
    warm = [(owner, w, warm_start_sweep(owner, w, project, overrides)) for owner in owners for w in owner.warm_starts]
    for sweep in (*(sweep for *_, sweep in warm), cells):
        validate_cells(sweep, where=f"suite={suite.name}")
    print(f"suite={suite.name}: {suite.summary}; {len(cells.cells())} cells in {project / suite.name}")
    for owner, w, sweep in warm:
        shared = "" if owner is suite else f" (suite {owner.name}'s, in {project / owner.name})"
        print(f"warm start of the {sweep.name} regime{shared}:")
        run_sweep(sweep, dry_run=dry_run, options=SweepOptions(), train=train)  # one cell: the local backend
        if not dry_run:
            publish_weights(warm_start_run(project / owner.name, w), warm_start_weights(project / owner.name, w.regime))
    report = project / suite.name / "report" / "report.md"
    if dry_run:
        run_sweep(cells, dry_run=True, options=options)
        print(f"suite={suite.name}: each cell is sized for {suite.hardware}; a run then writes its report to {report}")
        return report
    run_sweep(cells, options=options, train=train)
    return write_report(project / suite.name, margins=suite.margins)


__all__ = ["DEFAULT_PROJECT", "reproduce", "suite_sweep", "warm_start_sweep"]
