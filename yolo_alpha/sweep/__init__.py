"""Hyperparameter sweeps: a YAML grid of train keys, run cell by cell into one resumable folder of plain files."""

from yolo_alpha.sweep.backends import SweepOptions, split_sweep_options
from yolo_alpha.sweep.grid import Cell, SweepError, SweepGrid, find_sweep_file, load_sweep, validate_cells
from yolo_alpha.sweep.runner import SweepBusyError, SweepCellsFailed, cell_status, read_results, run_sweep

__all__ = [
    "Cell",
    "SweepBusyError",
    "SweepCellsFailed",
    "SweepError",
    "SweepGrid",
    "SweepOptions",
    "cell_status",
    "find_sweep_file",
    "load_sweep",
    "read_results",
    "run_sweep",
    "split_sweep_options",
    "validate_cells",
]
