"""Every registry loss's training step against its family's baseline, judged through the criterion alone.

The network's forward and backward are the same whatever the loss and ~97 % of a step, and two timings of the very
same step differ by several % on a shared machine, so a loss's cost is measured where it lives: the criterion (loss +
backward to the head's outputs) on one fixed forward pass (:func:`criterion_only`). In every repeat each loss is
timed right after the baseline criterion, so that drift cancels within each pair; its figure is
``1 + (criterion(loss) − criterion(baseline)) / step(baseline)``, the whole baseline step timed by the caller.

The losses are ``yolo_alpha.losses.list_losses()`` with their default keys (α = 3 for the α losses, the paper's
choice), each in a criterion built as training builds it; a stateful loss (``wiou``) starts from its initial state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from benchmarks.common import Figure, Measurements, interleaved_medians
from yolo_alpha.losses import LossSpec, list_losses, resolve_loss

BASELINE = "(baseline)"  # not a loss name: registry names are identifiers


def step_figure(criterion_s: float, baseline_s: float, step_s: float) -> float:
    """Return ``1 + (criterion_s − baseline_s) / step_s``: a loss's step over the baseline step, via the criterion."""
    return 1 + (criterion_s - baseline_s) / step_s


@dataclass(frozen=True)
class LossRow:
    """One loss's median criterion time and the median of the baseline timed just before it, or why not measured."""

    name: str
    criterion_s: float | None = None
    baseline_s: float | None = None
    why_not: str = ""

    def figure(self, step_s: float) -> float:
        """Return this loss's step figure against a baseline step of `step_s` seconds."""
        return step_figure(self.criterion_s, self.baseline_s, step_s)

    def goal_figure(self, label: str, step_s: float) -> Figure:
        """Return this loss's step figure as the report's goal row `label` (not measured if the loss failed)."""
        return Figure(label, None if self.criterion_s is None else self.figure(step_s), self.why_not)


def criterion_only(model: Any, criteria: dict[str, Any], batch: dict) -> dict[str, Callable[[], None]]:
    """Return closures of the criterion alone (loss + backward to the head's outputs) on one fixed forward pass.

    The network's forward and backward are ~97 % of a step and the same for every candidate; timing the criterion
    alone shows what a loss or an option costs without that noise.
    """
    with torch.no_grad():
        preds = model.forward(batch["img"])
    preds = preds[1] if isinstance(preds, tuple) else preds

    def fresh_leaves(value):
        if torch.is_tensor(value):
            return value.detach().requires_grad_(value.is_floating_point())
        if isinstance(value, dict):
            return {k: fresh_leaves(v) for k, v in value.items()}
        return [fresh_leaves(v) for v in value] if isinstance(value, (list, tuple)) else value

    def run_criterion(criterion):
        def run() -> None:
            loss, _ = criterion(fresh_leaves(preds), batch)
            loss.sum().backward()

        return run

    return {name: run_criterion(criterion) for name, criterion in criteria.items()}


def registry_criteria(build: Callable[[LossSpec], Any]) -> tuple[dict[str, Any], list[LossRow]]:
    """Return the criterion `build` makes for each registry loss (default keys), and a row for each it could not."""
    criteria, failed = {}, []
    for name in list_losses():
        try:
            criteria[name] = build(resolve_loss(name))
        except Exception as error:  # one loss failing must not hide the others' figures
            failed.append(LossRow(name, why_not=f"{type(error).__name__}: {error}"))
    return criteria, failed


def paired_rows(model: Any, baseline: Any, criteria: Mapping[str, Any], batch: dict, repeats: int) -> list[LossRow]:
    """Return each criterion's row: its median and the baseline's median timed just before it in every repeat."""
    closures = criterion_only(model, {BASELINE: baseline, **criteria}, batch)
    rows, paired = {}, {}
    for name in criteria:
        try:
            closures[name]()  # a criterion that raises is reported, not timed
        except Exception as error:
            rows[name] = LossRow(name, why_not=f"{type(error).__name__}: {error}")
            continue
        paired[f"{BASELINE} {name}"], paired[name] = closures[BASELINE], closures[name]
    medians = interleaved_medians(paired, repeats)
    for name in criteria:
        rows.setdefault(name, LossRow(name, medians.get(name), medians.get(f"{BASELINE} {name}")))
    return [rows[name] for name in criteria]


def loss_table(title: str, note: str, rows: list[LossRow], step_s: float) -> str:
    """Return the Markdown table of every row: criterion, paired baseline, their ratio and the step figure."""
    lines = [
        f"### {title}",
        "",
        note,
        "",
        "| loss | criterion | baseline criterion | criterion / baseline | step figure |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.criterion_s is None:
            lines.append(f"| {row.name} | not measured: {row.why_not} | | | |")
            continue
        lines.append(
            f"| {row.name} | {row.criterion_s * 1e3:.3f} ms | {row.baseline_s * 1e3:.3f} ms | "
            f"{row.criterion_s / row.baseline_s:.3f} | {row.figure(step_s):.3f} |"
        )
    return "\n".join(lines) + "\n"


def worst_figure(label: str, rows: list[LossRow], step_s: float) -> Figure:
    """Return the figure of the loss whose step figure is largest, named in the label; not measured if any failed."""
    measured = [row for row in rows if row.criterion_s is not None]
    failed = [row.name for row in rows if row.criterion_s is None]
    worst = max(measured, key=lambda row: row.figure(step_s), default=None)
    if failed:
        others = f"; worst of the others {worst.figure(step_s):.3f} ({worst.name})" if worst else ""
        return Figure(label, None, f"{len(failed)} of {len(rows)} losses failed ({', '.join(failed)}){others}")
    return Figure(f"{label} ({worst.name})", worst.figure(step_s))


def bench_registry_losses(
    out: Measurements,
    family: str,
    model: Any,
    baseline: tuple[str, Any],
    extra: Mapping[str, Any],
    build: Callable[[LossSpec], Any],
    timing: tuple[dict, int, float],
    remark: str = "",
) -> tuple[dict[str, LossRow], list[LossRow]]:
    """Record one family's table of the `extra` criteria and every registry loss; return their rows, in that order.

    ``baseline`` is (its name in the report, its criterion); ``timing`` the batch, the repeats and the median
    seconds of the baseline's whole step; ``remark`` ends the table's note.
    """
    batch, repeats, step_s = timing
    criteria, failed = registry_criteria(build)
    measured = paired_rows(model, baseline[1], {**extra, **criteria}, batch, repeats)
    by_name = {row.name: row for row in measured + failed}
    rows = [by_name[name] for name in [*extra, *list_losses()]]
    name = baseline[0]
    out.sections.append(
        loss_table(
            f"{family}: the criterion alone with every registry loss, vs {name}",
            f"Criterion = loss + backward to the head's outputs on one fixed forward pass, median of {repeats} "
            f'repeats; each loss is timed right after {name} ("baseline criterion") in every repeat. Step figure = '
            f"1 + (criterion − baseline criterion) / the {name} step ({step_s * 1e3:.1f} ms): the goal is ≤ 1.02 for "
            f"every loss. Default keys; α = 3 for the α losses. {remark}".rstrip(),
            rows,
            step_s,
        )
    )
    return {row.name: row for row in rows[: len(extra)]}, rows[len(extra) :]
