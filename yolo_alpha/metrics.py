"""AP per IoU threshold, as the α-IoU paper reports it (AP50 … AP95, mAP50:95, mAP75:95), and the metric names.

The names of a results row's metrics and the fixed settings they are measured under live here, below both the
evaluation that measures them (:mod:`yolo_alpha.evaluate`) and the report that reads them, which so needs neither
Ultralytics nor the training code.
"""

from __future__ import annotations

import numpy as np

IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)  # COCO's ten thresholds, as Ultralytics' all_ap columns
AP_KEYS = tuple(f"AP{round(t * 100)}" for t in IOU_THRESHOLDS)  # AP50, AP55, …, AP95
TABLE_METRICS = (*AP_KEYS, "mAP50-95", "mAP75-95")  # the columns of the paper's Tables 1 and 3
COUNT_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)  # the IoU thresholds of the paper's Fig. 2
COUNT_KEYS = tuple(f"TP{round(t * 100)}" for t in COUNT_THRESHOLDS)  # TP50, TP60, …, TP90 (results row keys)
IMPROVEMENT_METRICS = (*TABLE_METRICS, *COUNT_KEYS)  # "rela. improv." of AP and of Fig. 2's counts

# Same for every evaluated model (a sweep compares cells under these settings).
AP_CONF, AP_NMS_IOU = 0.001, 0.7  # Ultralytics' `yolo val` defaults: AP needs the whole precision-recall curve
# Fig. 2 counts "positively predicted" boxes after NMS at IoU 0.5 (the paper). 0.25 is Ultralytics' predict default:
# the boxes a user of the detector would keep; at the AP confidence (0.001) nearly every ground truth finds some
# low-score box, and the counts would measure the NMS rather than the detector.
COUNT_CONF, COUNT_NMS_IOU = 0.25, 0.5


def ap_by_threshold(all_ap: np.ndarray) -> dict[str, float]:
    """Return {"AP50": …, …, "AP95": …, "mAP50-95": …, "mAP75-95": …} from an (nc, 10) per-class AP array.

    `all_ap` is Ultralytics' ``metrics.box.all_ap``: AP of each class at IoU 0.50, 0.55, …, 0.95. Each APxx is the
    mean over classes; mAP75-95 is the paper's metric, the mean of AP75, AP80, …, AP95 (Table 1 caption).
    """
    all_ap = np.asarray(all_ap, dtype=float)
    if all_ap.ndim != 2 or all_ap.shape[1] != len(IOU_THRESHOLDS):
        raise ValueError(f"all_ap must have shape (nc, {len(IOU_THRESHOLDS)}), got {all_ap.shape}")
    per_threshold = all_ap.mean(0) if len(all_ap) else np.zeros(len(IOU_THRESHOLDS))
    table = {key: float(ap) for key, ap in zip(AP_KEYS, per_threshold)}
    table["mAP50-95"] = float(per_threshold.mean())
    table["mAP75-95"] = float(per_threshold[IOU_THRESHOLDS >= 0.75].mean())
    return table


def format_ap_table(table: dict[str, float]) -> str:
    """Return the table as two aligned text rows (names, then values in percent as in the paper)."""
    names = list(table)
    width = max(len(n) for n in names) + 1
    return "".join(n.rjust(width) for n in names) + "\n" + "".join(f"{100 * table[n]:.2f}".rjust(width) for n in names)
