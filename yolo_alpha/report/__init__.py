"""Report writer for a sweep folder: tables (Markdown, CSV) and figures (PNG + CSV) as in the α-IoU paper.

Input is only the sweep's file format: ``<sweep>/results.jsonl`` (one JSON object per finished run) and each run's
Ultralytics ``results.csv``. AP and Fig. 2's counts come from :mod:`yolo_alpha.evaluate` (pycocotools), recorded in
each row by the sweep runner. ``write_report(sweep_dir)`` writes everything under ``<sweep>/report/``.
"""

from yolo_alpha.report.figures import (
    plot_alpha_sensitivity,
    plot_ap_vs_iou,
    plot_improvement_vs_noise,
    plot_map_over_epochs,
    plot_tp_count_improvement,
    plot_tp_counts,
)
from yolo_alpha.report.tables import load_results, relative_improvement, summarise
from yolo_alpha.report.writer import write_report

__all__ = [
    "load_results",
    "plot_alpha_sensitivity",
    "plot_ap_vs_iou",
    "plot_improvement_vs_noise",
    "plot_map_over_epochs",
    "plot_tp_count_improvement",
    "plot_tp_counts",
    "relative_improvement",
    "summarise",
    "write_report",
]
