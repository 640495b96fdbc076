"""AP per IoU threshold, as the α-IoU paper reports it (AP50 … AP95, mAP50:95, mAP75:95)."""

from __future__ import annotations

import numpy as np

IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)  # COCO's ten thresholds, as Ultralytics' all_ap columns


def ap_by_threshold(all_ap: np.ndarray) -> dict[str, float]:
    """Return {"AP50": …, …, "AP95": …, "mAP50-95": …, "mAP75-95": …} from an (nc, 10) per-class AP array.

    `all_ap` is Ultralytics' ``metrics.box.all_ap``: AP of each class at IoU 0.50, 0.55, …, 0.95. Each APxx is the
    mean over classes; mAP75-95 is the paper's metric, the mean of AP75, AP80, …, AP95 (Table 1 caption).
    """
    all_ap = np.asarray(all_ap, dtype=float)
    if all_ap.ndim != 2 or all_ap.shape[1] != len(IOU_THRESHOLDS):
        raise ValueError(f"all_ap must have shape (nc, {len(IOU_THRESHOLDS)}), got {all_ap.shape}")
    per_threshold = all_ap.mean(0) if len(all_ap) else np.zeros(len(IOU_THRESHOLDS))
    table = {f"AP{round(t * 100)}": float(ap) for t, ap in zip(IOU_THRESHOLDS, per_threshold)}
    table["mAP50-95"] = float(per_threshold.mean())
    table["mAP75-95"] = float(per_threshold[IOU_THRESHOLDS >= 0.75].mean())
    return table


def format_ap_table(table: dict[str, float]) -> str:
    """Return the table as two aligned text rows (names, then values in percent as in the paper)."""
    names = list(table)
    width = max(len(n) for n in names) + 1
    return "".join(n.rjust(width) for n in names) + "\n" + "".join(f"{100 * table[n]:.2f}".rjust(width) for n in names)
