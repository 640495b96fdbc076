"""The papers' figures as commands: ``yolo-alpha plot <name> [key=value ...]``, each a PNG plus a CSV of its numbers.

``make_plot(name, settings)`` draws one figure of :data:`PLOTS` (``reweighting``, ``landscape``, ``correlation``,
``iou-hist``) into ``out=`` (default ``runs/plots``) without overwriting anything. Each figure module also has a
``*_data`` function returning the plotted numbers as rows and a ``plot_*`` function drawing exactly those rows
(``axes=None``, returns ``(fig, axes)``), as :mod:`yolo_alpha.report.figures`. Figure modules are imported on use.
"""

from yolo_alpha.plot.dispatch import PLOTS, PlotEntry, check_plot_keys, make_plot, plots_help

__all__ = ["PLOTS", "PlotEntry", "check_plot_keys", "make_plot", "plots_help"]
