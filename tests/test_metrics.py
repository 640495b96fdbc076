"""AP per IoU threshold: the paper's table arithmetic."""

import numpy as np
import pytest

from yolo_alpha.metrics import IOU_THRESHOLDS, ap_by_threshold, format_ap_table


def test_thresholds_are_cocos_ten():
    assert IOU_THRESHOLDS.tolist() == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def test_table_means_over_classes_and_thresholds():
    # two classes; class 0 AP falls linearly from 1.0 to 0.1, class 1 is a constant 0.5
    all_ap = np.stack([np.linspace(1.0, 0.1, 10), np.full(10, 0.5)])
    table = ap_by_threshold(all_ap)
    assert table["AP50"] == pytest.approx((1.0 + 0.5) / 2)
    assert table["AP95"] == pytest.approx((0.1 + 0.5) / 2)
    assert table["mAP50-95"] == pytest.approx(all_ap.mean())
    # mAP75:95 = mean of AP75, AP80, AP85, AP90, AP95 (the last five columns)
    assert table["mAP75-95"] == pytest.approx(all_ap[:, 5:].mean())
    assert list(table)[:10] == [f"AP{t}" for t in range(50, 100, 5)]


def test_no_classes_gives_zeros_and_bad_shape_is_refused():
    assert ap_by_threshold(np.zeros((0, 10)))["mAP50-95"] == 0.0
    with pytest.raises(ValueError, match=r"shape \(nc, 10\)"):
        ap_by_threshold(np.zeros((3, 9)))


def test_format_prints_percent():
    text = format_ap_table({"AP50": 0.5, "mAP75-95": 0.1234})
    assert "50.00" in text and "12.34" in text
