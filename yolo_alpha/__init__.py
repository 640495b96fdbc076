"""yolo-alpha: train Ultralytics YOLO detectors with the α-IoU family of box losses.

Importing the package sets two Ultralytics environment defaults (a value the user already exported wins):
``YOLO_OFFLINE=True`` so that Ultralytics does not probe DNS at import or phone home during training, and
``YOLO_AUTOINSTALL=False`` so that nothing is pip-installed at run time. Data sets that are missing still download
(Ultralytics' downloader does not consult ``YOLO_OFFLINE``); see README, "Offline".
"""

import os

os.environ.setdefault("YOLO_OFFLINE", "True")  # "True", not "1": Ultralytics 8.3 reads only "true"
os.environ.setdefault("YOLO_AUTOINSTALL", "False")

__version__ = "0.1.0"

from yolo_alpha.losses import box_loss, list_losses

__all__ = ["__version__", "box_loss", "list_losses"]
