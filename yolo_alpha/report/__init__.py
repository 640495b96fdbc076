"""Report writer for a sweep folder: tables (Markdown, CSV) and figures (PNG + CSV) as in the α-IoU paper.

Input is only the sweep's file format: ``<sweep>/results.jsonl`` (one JSON object per finished run) and each run's
Ultralytics ``results.csv``. ``write_report(sweep_dir)`` writes everything under ``<sweep>/report/``.
"""

from yolo_alpha.report.figures import (
    plot_alpha_sensitivity,
    plot_ap_vs_iou,
    plot_improvement_vs_noise,
    plot_map_over_epochs,
)
from yolo_alpha.report.tables import load_results, relative_improvement, summarise
from yolo_alpha.report.writer import write_report

__all__ = [
    "load_results",
    "plot_alpha_sensitivity",
    "plot_ap_vs_iou",
    "plot_improvement_vs_noise",
    "plot_map_over_epochs",
    "relative_improvement",
    "summarise",
    "write_report",
]
