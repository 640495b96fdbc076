"""untimed_nms: a validation scores every image even when NMS is slow (upstream's time limit, forced with a fake clock,
leaves the rest of a batch without detections), and the module's own function is back afterwards."""

import torch
from ultralytics.utils import nms

from yolo_alpha.ultralytics.validator import untimed_nms


class SlowClock:
    """time.time for ultralytics.utils.nms: every reading is 100 s after the last, as on a CPU far too busy."""

    def __init__(self):
        self.now = 0.0

    def time(self):
        self.now += 100.0
        return self.now


def predictions(batch: int = 3, boxes: int = 50) -> torch.Tensor:
    """(batch, 4 + 1, boxes): xywh in pixels, well apart, and a one-class score of 0.9."""
    xy = torch.arange(boxes, dtype=torch.float32) * 40 + 20
    one = torch.stack([xy, xy, torch.full_like(xy, 10), torch.full_like(xy, 10), torch.full_like(xy, 0.9)])
    return one.expand(batch, -1, -1).clone()


def test_upstream_gives_up_on_a_slow_batch_and_untimed_nms_does_not(monkeypatch):
    monkeypatch.setattr(nms, "time", SlowClock())
    given_up = nms.non_max_suppression(predictions(), 0.001, 0.7)
    assert [len(x) for x in given_up] == [50, 0, 0]  # the images after the limit: no detection at all
    original = nms.non_max_suppression
    with untimed_nms():
        scored = nms.non_max_suppression(predictions(), 0.001, 0.7)  # as the validator calls it
    assert [len(x) for x in scored] == [50, 50, 50]
    assert nms.non_max_suppression is original


def test_the_function_is_restored_when_the_block_raises():
    original = nms.non_max_suppression
    try:
        with untimed_nms():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert nms.non_max_suppression is original
