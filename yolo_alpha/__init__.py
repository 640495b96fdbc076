"""yolo-alpha: train Ultralytics YOLO detectors with the α-IoU family of box losses.

Importing the package sets two Ultralytics environment defaults (a value the user already exported wins):
``YOLO_OFFLINE=True`` so that Ultralytics does not probe DNS at import or phone home during training, and
``YOLO_AUTOINSTALL=False`` so that nothing is pip-installed at run time. Official data sets that are missing still
download when the machine is online, unless the user set ``YOLO_OFFLINE`` themselves; see docs/configuration.md,
"Offline".
"""

import os

DEFAULT_OFFLINE_ENV = "YOLO_ALPHA_DEFAULT_OFFLINE"

if "YOLO_OFFLINE" not in os.environ:
    os.environ["YOLO_OFFLINE"] = "True"  # "True", not "1": Ultralytics 8.3 reads only "true"
    # Marks the value as our default, not the user's choice (child processes inherit both): a missing data set still
    # downloads then (yolo_alpha.ultralytics.datasets_dir.can_download).
    os.environ[DEFAULT_OFFLINE_ENV] = "1"
os.environ.setdefault("YOLO_AUTOINSTALL", "False")

__version__ = "0.1.0"

from yolo_alpha.losses import box_loss, list_losses  # noqa: E402  (after the environment defaults above)

__all__ = ["__version__", "box_loss", "list_losses"]
