"""Hyperparameter sweeps: a YAML grid of train keys, run cell by cell into one resumable folder of plain files.

Layers, each importing only those above it in this list: ``grid`` (the sweep file and its cells), ``paths`` (weights
relative to the folder, paths recorded relative to it), ``pool`` (the pool protocol and the job a worker runs),
``process_backend`` and ``ray_backend`` (the parallel pools), ``backends`` (the backend options; picks a pool),
``runner`` (runs a sweep). The folder's files (their names, results.jsonl read and written) are
:mod:`yolo_alpha.sweep_folder`, outside this package, so the report reads them without importing the runner.

A sweep folder holds no machine path of itself: a cell's relative ``pretrained`` (or ``.pt`` ``model``) names a file in
the sweep folder first, then in the current folder (:mod:`~yolo_alpha.sweep.paths` states the rule), and rows and
args.yaml record paths relative to the folder, so a study resumes wherever it lies and however its path is spelt.
"""

from yolo_alpha.sweep.backends import SweepOptions, split_sweep_options
from yolo_alpha.sweep.grid import Cell, SweepError, SweepGrid, find_sweep_file, load_sweep, validate_cells
from yolo_alpha.sweep.runner import SweepBusyError, SweepCellsFailed, cell_status, run_sweep
from yolo_alpha.sweep_folder import ResultsFileError, read_results

__all__ = [
    "Cell",
    "ResultsFileError",
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
