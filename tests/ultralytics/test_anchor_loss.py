"""The anchor-based YOLOv5 criterion (ComputeLoss v7.0 with our box term), against hand values and a loop reference.

YOLOv5's loss, per level with raw maps p (b, na, ny, nx, 5 + nc) and positives (image, anchor, cell):
    pxy = 2σ(p_xy) − 0.5, pwh = (2σ(p_wh))² · anchor        (grid cells, xy from the cell's corner)
    lbox = Σ_levels mean_pos(1 − CIoU)                       (ours: mean_pos of the spec's loss)
    lobj = Σ_levels balance_l · mean_cells BCE(p_obj, tobj)  (tobj = quality at positives, 0 elsewhere)
    lcls = Σ_levels mean_pos,classes BCE(p_cls, one-hot)     (only when nc > 1)
    total = (box·lbox + obj·lobj + cls·lcls) · batch size, gains rescaled: box·3/nl, cls·nc/80·3/nl,
    obj·(imgsz/640)²·3/nl.
The model is a stand-in (SimpleNamespace with the head's attributes), so these tests do not depend on the model file.
"""

import math
import types

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import complete_box_iou

from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import list_losses, resolve_loss
from yolo_alpha.losses.balance import IoUBalance, normalised_iou_weights
from yolo_alpha.losses.registry import loss_entry
from yolo_alpha.ultralytics.anchor_loss import (
    LOSS_ITEMS_AS_DICT,
    LOSS_NAMES,
    AnchorComputeLoss,
    xywh_to_xyxy,
)
from yolo_alpha.ultralytics.loss_state import BoxTermState, loss_state, restore_loss_state, share_loss_state

# YOLOv5's P3-P5 anchors (yolov5s.yaml) in pixels, divided by the strides 8, 16, 32: stride units.
P3_P5_ANCHORS = torch.tensor(
    [
        [[10, 13], [16, 30], [33, 23]],
        [[30, 61], [62, 45], [59, 119]],
        [[116, 90], [156, 198], [373, 326]],
    ],
    dtype=torch.float32,
) / torch.tensor([8.0, 16.0, 32.0]).view(3, 1, 1)


def stand_in(anchors, nc=1, args=None):
    """Return a model stand-in: .model[-1] a head with nl, na, nc, anchors (nl, na, 2) in stride units, stride."""
    anchors = torch.as_tensor(anchors, dtype=torch.float32)
    nl, na = anchors.shape[:2]
    head = types.SimpleNamespace(nl=nl, na=na, nc=nc, anchors=anchors, stride=8.0 * 2 ** torch.arange(nl))
    return types.SimpleNamespace(model=[head], nc=nc, args={} if args is None else args)


def batch_of(boxes, classes=None, images=None, bs=1):
    """Return a loader batch of normalised xywh ``boxes`` (one image unless ``images``), classes 0 by default."""
    boxes = torch.as_tensor(boxes, dtype=torch.float32).view(-1, 4)
    n = len(boxes)
    return {
        "batch_idx": torch.as_tensor(images if images is not None else [0] * n, dtype=torch.float32),
        "cls": torch.as_tensor(classes if classes is not None else [0] * n, dtype=torch.float32).view(-1, 1),
        "bboxes": boxes,
        "img": torch.zeros(bs, 3, 64, 64),
    }


def items_of(loss_items):
    """Return the loss items as a (box, obj, cls) tensor, whichever form the installed trainer takes."""
    return torch.stack([loss_items[k] for k in LOSS_NAMES]) if LOSS_ITEMS_AS_DICT else loss_items


def objectness_targets(criterion, raw, batch):
    """Return each level's tobj, read back from the objectness gradient at zero objectness logits.

    d total / d p_obj = bs · obj_gain · balance_l · (σ(p_obj) − tobj) / cells, and σ(0) = 1/2.
    """
    raw = [r.detach().clone() for r in raw]
    for r in raw:
        r[..., 4] = 0
        r.requires_grad_(True)
    criterion(raw, batch)[0].backward()
    targets = []
    for level, r in enumerate(raw):
        scale = r.shape[0] * criterion.gains["obj"] * criterion.level_balance[level] / r[..., 4].numel()
        targets.append(0.5 - r.grad[..., 4] / scale)
    return targets


# --- one box, one level, one anchor: every number by hand ---

# Grid 4 × 4, anchor (1, 1) cells. Target centre (1.5, 2.5), size (1, 2) cells: fractions 0.5, so only the centre
# cell (gi, gj) = (1, 2) trains (a neighbour needs a fraction < 0.5 on its side). Its logits: x = ln 3 (σ = 3/4),
# y = 0 (σ = 1/2), w = 0, h = ln 3, objectness 1.
# pxy = (2·3/4 − 0.5, 2·1/2 − 0.5) = (1, 0.5); pwh = ((2·1/2)²·1, (2·3/4)²·1) = (1, 2.25).
# pred xyxy (0.5, −0.625, 1.5, 1.625), target (0, −0.5, 1, 1.5): intersection 0.5 × 2 = 1,
# union 2.25 + 2 − 1 = 3.25, IoU = 4/13; enclosing box 1.5 × 2.25: c² = 1.5² + 2.25², centres 0.5 apart: ρ² = 0.25.
ONE_BOX = [1.5 / 4, 2.5 / 4, 1 / 4, 2 / 4]
IOU = 1 / 3.25
RHO2_C2 = 0.25 / (1.5**2 + 2.25**2)
V = 4 / math.pi**2 * (math.atan(1 / 2) - math.atan(1 / 2.25)) ** 2
CIOU = IOU - RHO2_C2 - V / (1 - IOU + V) * V


def one_box_raw(nc=1):
    raw = torch.zeros(1, 1, 4, 4, 5 + nc)
    raw[0, 0, 2, 1, :5] = torch.tensor([math.log(3), 0.0, 0.0, math.log(3), 1.0])
    return [raw.requires_grad_(True)]


def test_one_box_pbox_tobj_and_losses_by_hand():
    criterion = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]))
    tcls, tbox, indices, anch = criterion.build_targets(one_box_raw(), torch.tensor([[0, 0, *ONE_BOX]]))
    assert tcls[0].tolist() == [0]
    assert [i.tolist() for i in indices[0]] == [[0], [0], [2], [1]]  # image, anchor, gj, gi
    torch.testing.assert_close(tbox[0], torch.tensor([[0.5, 0.5, 1.0, 2.0]]))  # xy from the cell's corner
    torch.testing.assert_close(anch[0], torch.tensor([[1.0, 1.0]]))

    raw = one_box_raw()
    total, loss_items = criterion(raw, batch_of(ONE_BOX))
    # Gains, nl = 1, 640 px, nc = 1: box 0.05·3, obj 1·1·3; balance of one level: YOLOv5's first, 4.0.
    assert criterion.gains == pytest.approx({"box": 0.15, "obj": 3.0, "cls": 0.5 / 80 * 3})
    lbox = 1 - CIOU
    # 15 cells at logit 0, target 0: BCE ln 2; the positive at logit 1, target CIoU: ln(1 + e) − CIoU.
    lobj = 4.0 * (15 * math.log(2) + math.log(1 + math.e) - CIOU) / 16
    expected = torch.tensor([0.15 * lbox, 3.0 * lobj, 0.0])
    torch.testing.assert_close(items_of(loss_items), expected)
    torch.testing.assert_close(total, expected.sum())
    assert total.dim() == 0 and total.requires_grad

    # tobj: CIoU at (image 0, anchor 0, gj 2, gi 1), 0 elsewhere.
    tobj = objectness_targets(criterion, raw, batch_of(ONE_BOX))[0]
    expected_tobj = torch.zeros(1, 1, 4, 4)
    expected_tobj[0, 0, 2, 1] = CIOU
    torch.testing.assert_close(tobj, expected_tobj, atol=1e-6, rtol=0)


def test_class_loss_and_rescaled_gains_by_hand():
    # nc = 20 and imgsz 320 at nl = 1: cls 0.5·20/80·3 = 0.375, obj 1·(320/640)²·3 = 0.75, box 0.05·3 = 0.15.
    criterion = AnchorComputeLoss(stand_in([[[1.0, 1.0]]], nc=20, args={"imgsz": 320}))
    assert criterion.gains == pytest.approx({"box": 0.15, "obj": 0.75, "cls": 0.375})
    raw = one_box_raw(nc=20)
    with torch.no_grad():
        raw[0][0, 0, 2, 1, 5:8] = torch.tensor([0.0, 2.0, -1.0])  # class 1's logit 2; the other 19 classes
    _, loss_items = criterion(raw, batch_of(ONE_BOX, classes=[1]))
    # BCE(x, t) = ln(1 + e^x) − t·x: 18 logits 0 at t = 0 (ln 2 each), logit 2 at t = 1, logit −1 at t = 0.
    lcls = (18 * math.log(2) + math.log(1 + math.exp(2)) - 2 + math.log(1 + math.exp(-1))) / 20
    assert items_of(loss_items)[2] == pytest.approx(0.375 * lcls)
    assert items_of(loss_items)[0] == pytest.approx(0.15 * (1 - CIOU))


def test_gains_from_args_object_list_imgsz_and_three_levels():
    args = types.SimpleNamespace(box=0.1, cls=None, imgsz=[1280, 960])  # obj and anchor_t missing: YOLOv5's
    criterion = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=80, args=args))
    # nl = 3: no level factor; cls 0.5·80/80; obj 1·(1280/640)² (the larger side).
    assert criterion.gains == pytest.approx({"box": 0.1, "obj": 4.0, "cls": 0.5})
    assert criterion.anchor_t == 4.0 and criterion.level_balance == (4.0, 1.0, 0.4)


def test_total_is_the_sum_times_batch_size_and_items_are_named():
    criterion = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]))
    raw = [torch.cat((one_box_raw()[0], torch.zeros(2, 1, 4, 4, 6)))]  # 3 images, the box in the first
    total, loss_items = criterion(raw, batch_of(ONE_BOX, bs=3))
    torch.testing.assert_close(total, items_of(loss_items).sum() * 3)
    if LOSS_ITEMS_AS_DICT:  # Ultralytics 8.4 derives the logged names from the dict's keys
        assert tuple(loss_items) == ("box_loss", "obj_loss", "cls_loss") and not loss_items["box_loss"].requires_grad


def test_eval_output_uses_the_raw_maps():
    criterion = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]))
    raw = one_box_raw()
    y = torch.zeros(1, 16, 6)  # decoded predictions, ignored
    torch.testing.assert_close(criterion((y, raw), batch_of(ONE_BOX))[0], criterion(raw, batch_of(ONE_BOX))[0])


# --- target building: anchor matching and neighbour cells ---


def centre_rows(criterion, grid, wh):
    """Return how many target/anchor pairs a target of size ``wh`` (cells) at a cell centre makes (centre only)."""
    raw = [torch.zeros(1, criterion.na, grid, grid, 6)]
    box = [(grid // 2 + 0.5) / grid, (grid // 2 + 0.5) / grid, wh[0] / grid, wh[1] / grid]
    return len(criterion.build_targets(raw, torch.tensor([[0, 0, *box]]))[2][0][0])


@pytest.mark.parametrize(
    ("wh", "kept"),
    [
        ((2 * 3.99, 2.0), True),  # width ratio r = 3.99 < 4
        ((2 * 4.01, 2.0), False),  # r = 4.01
        ((2 * 4.0, 2.0), False),  # exactly 4: the test is strict, max(r, 1/r) < anchor_t
        ((2 / 3.99, 2.0), True),  # 1/r = 3.99
        ((2 / 4.01, 2.0), False),  # 1/r = 4.01
        ((2.0, 2 * 3.99), True),  # the same for the height
        ((2.0, 2 * 4.01), False),
        ((2.0, 2 / 3.99), True),
        ((2.0, 2 / 4.01), False),
        ((2 * 3.99, 2 / 3.99), True),  # both sides at the edge
        ((0.0, 2.0), False),  # a zero-width target: 1/r = ∞ pairs with no anchor
    ],
)
def test_anchor_matching_at_the_anchor_t_boundary(wh, kept):
    criterion = AnchorComputeLoss(stand_in([[[2.0, 2.0]]]))  # anchor 2 × 2 cells, anchor_t 4
    assert centre_rows(criterion, 16, wh) == int(kept)


def test_anchor_t_from_args_and_which_anchors_match():
    anchors = [[[1.0, 1.0], [4.0, 4.0], [16.0, 16.0]]]
    criterion = AnchorComputeLoss(stand_in(anchors))
    raw = [torch.zeros(1, 3, 32, 32, 6)]
    indices = criterion.build_targets(raw, torch.tensor([[0, 0, 16.5 / 32, 16.5 / 32, 2 / 32, 2 / 32]]))[2]
    assert indices[0][1].tolist() == [0, 1]  # ratios 2, 2, 8: the third anchor is dropped
    loose = AnchorComputeLoss(stand_in(anchors, args={"anchor_t": 9.0}))
    assert loose.build_targets(raw, torch.tensor([[0, 0, 16.5 / 32, 16.5 / 32, 2 / 32, 2 / 32]]))[2][0][1].tolist() == [
        0,
        1,
        2,
    ]
    with pytest.raises(ConfigError, match="anchor_t"):
        AnchorComputeLoss(stand_in(anchors, args={"anchor_t": 1.0}))


@pytest.mark.parametrize(
    ("gxy", "cells"),
    [
        # centre (gx, gy) in cells of an 8 × 8 grid -> {(gi, gj): target xy from that cell's corner}
        ((3.25, 3.5), {(3, 3): (0.25, 0.5), (2, 3): (1.25, 0.5)}),  # x fraction < 0.5: left neighbour
        ((3.75, 3.5), {(3, 3): (0.75, 0.5), (4, 3): (-0.25, 0.5)}),  # > 0.5: right, through gxi = 8 − gx
        ((3.5, 3.25), {(3, 3): (0.5, 0.25), (3, 2): (0.5, 1.25)}),  # up
        ((3.5, 3.75), {(3, 3): (0.5, 0.75), (3, 4): (0.5, -0.25)}),  # down
        ((3.25, 3.75), {(3, 3): (0.25, 0.75), (2, 3): (1.25, 0.75), (3, 4): (0.25, -0.25)}),  # 3 cells
        ((0.25, 3.5), {(0, 3): (0.25, 0.5)}),  # gx <= 1: no left neighbour at the border
        ((1.25, 3.5), {(1, 3): (0.25, 0.5), (0, 3): (1.25, 0.5)}),  # gx > 1: the left one is cell 0
        ((7.75, 3.5), {(7, 3): (0.75, 0.5)}),  # gxi = 0.25 <= 1: no right neighbour
        ((6.75, 3.5), {(6, 3): (0.75, 0.5), (7, 3): (-0.25, 0.5)}),  # gxi = 1.25 > 1
        ((3.5, 0.25), {(3, 0): (0.5, 0.25)}),  # top border
        ((3.5, 7.75), {(3, 7): (0.5, 0.75)}),  # bottom border
    ],
)
def test_neighbour_cells(gxy, cells):
    criterion = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]))
    raw = [torch.zeros(1, 1, 8, 8, 6)]
    target = torch.tensor([[0, 0, gxy[0] / 8, gxy[1] / 8, 1 / 8, 1 / 8]])
    _, tbox, indices, _ = criterion.build_targets(raw, target)
    _, _, gj, gi = indices[0]
    found = {(int(i), int(j)): tuple(box[:2].tolist()) for i, j, box in zip(gi, gj, tbox[0])}
    assert found == cells  # quarter-cell positions: exact in float32
    assert next(iter(found)) == next(iter(cells))  # the centre cell comes first, as YOLOv5 orders them


def test_centre_on_the_right_edge_is_clamped_into_the_grid():
    # x = 1 puts the centre at gx = 8 of an 8-cell row: cell 8 is clamped to 7, and the target's x is taken from
    # the clamped cell (8 − 7 = 1), as YOLOv5's in-place clamp does. gx % 1 = 0 < 0.5 and gx > 1 also select the
    # left neighbour, 8 − 0.5 → 7: the same cell again; gxi = 0 selects no right one.
    criterion = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]))
    _, tbox, indices, _ = criterion.build_targets(
        [torch.zeros(1, 1, 8, 8, 6)], torch.tensor([[0, 0, 1.0, 3.5 / 8, 0.125, 0.125]])
    )
    assert indices[0][3].tolist() == [7, 7] and indices[0][2].tolist() == [3, 3]
    assert tbox[0][:, 0].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_duplicates_at_one_cell_keep_the_highest_quality(order):
    # Two targets centred in cell (3, 3) of an 8 × 8 grid, one anchor 2 × 2: zero logits give pbox (0.5, 0.5, 2, 2)
    # for both. Same centres, so CIoU = IoU − βv: widths 2.5 and 3 (height 2) give IoU 0.8 and 2/3.
    criterion = AnchorComputeLoss(stand_in([[[2.0, 2.0]]]))
    boxes = [[3.5 / 8, 3.5 / 8, 2.5 / 8, 2 / 8], [3.5 / 8, 3.5 / 8, 3 / 8, 2 / 8]]
    pred = xywh_to_xyxy(torch.tensor([[0.5, 0.5, 2.0, 2.0]]))
    quality = [
        1 - float(resolve_loss("ciou")(pred, xywh_to_xyxy(torch.tensor([[0.5, 0.5, w, 2.0]])))) for w in (2.5, 3)
    ]
    assert quality[0] > quality[1] > 0
    raw = [torch.zeros(1, 1, 8, 8, 6)]
    tobj = objectness_targets(criterion, raw, batch_of([boxes[i] for i in order]))[0]
    assert float(tobj[0, 0, 3, 3]) == pytest.approx(quality[0], abs=1e-6)
    assert float(tobj.sum()) == pytest.approx(quality[0], abs=1e-5)  # nothing anywhere else


# --- loss=ciou is YOLOv5's loss: a loop reference with torchvision's CIoU ---


def random_case(seed, nc=4, bs=3, n=12, grids=(8, 4, 2)):
    g = torch.Generator().manual_seed(seed)
    raw = [torch.randn(bs, 3, s, s, 5 + nc, generator=g).requires_grad_(True) for s in grids]
    xy = torch.rand(n, 2, generator=g) * 0.9 + 0.05
    wh = torch.rand(n, 2, generator=g) * 0.6 + 0.02
    batch = batch_of(
        torch.cat((xy, wh), 1),
        classes=torch.randint(0, nc, (n,), generator=g).tolist(),
        images=torch.randint(0, bs, (n,), generator=g).tolist(),
        bs=bs,
    )
    return raw, batch


def yolov5_reference(raw, batch, anchors, gains, anchor_t=4.0, balance=(4.0, 1.0, 0.4)):
    """Return YOLOv5 v7.0's (total, (lbox, lobj, lcls)), written as loops over targets, anchors and cells."""
    targets = torch.cat((batch["batch_idx"].view(-1, 1), batch["cls"], batch["bboxes"]), 1).tolist()
    lbox = lobj = lcls = torch.zeros(())
    for level, p in enumerate(raw):
        bs, na, ny, nx, no = p.shape
        rows = []  # (image, anchor, gj, gi, class, tx, ty, tw, th)
        for image, cls, x, y, w, h in targets:
            gx, gy, gw, gh = x * nx, y * ny, w * nx, h * ny
            for a in range(na):
                aw, ah = anchors[level][a].tolist()
                if max(gw / aw, aw / gw, gh / ah, ah / gh) >= anchor_t:
                    continue
                cells = [(gx, gy)]
                cells += [(gx - 0.5, gy)] if gx % 1 < 0.5 and gx > 1 else []
                cells += [(gx, gy - 0.5)] if gy % 1 < 0.5 and gy > 1 else []
                cells += [(gx + 0.5, gy)] if (nx - gx) % 1 < 0.5 and nx - gx > 1 else []
                cells += [(gx, gy + 0.5)] if (ny - gy) % 1 < 0.5 and ny - gy > 1 else []
                for cx, cy in cells:
                    gi, gj = min(max(int(cx), 0), nx - 1), min(max(int(cy), 0), ny - 1)
                    rows.append((int(image), a, gj, gi, int(cls), gx - gi, gy - gj, gw, gh))
        tobj = torch.zeros(bs, na, ny, nx)
        if rows:
            b, a, gj, gi, c = (torch.tensor([r[k] for r in rows]) for k in range(5))
            ps = p[b, a, gj, gi]
            pxy = ps[:, :2].sigmoid() * 2 - 0.5
            pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * anchors[level][a]
            pred = xywh_to_xyxy(torch.cat((pxy, pwh), 1))
            target = xywh_to_xyxy(torch.tensor([r[5:] for r in rows]))
            ciou = complete_box_iou(pred, target).diagonal()
            lbox = lbox + (1 - ciou).mean()
            for k, quality in enumerate(ciou.detach().clamp(0).tolist()):  # duplicates: the highest (sorted)
                tobj[b[k], a[k], gj[k], gi[k]] = max(float(tobj[b[k], a[k], gj[k], gi[k]]), quality)
            onehot = F.one_hot(c, no - 5).float()
            lcls = lcls + F.binary_cross_entropy_with_logits(ps[:, 5:], onehot)
        lobj = lobj + F.binary_cross_entropy_with_logits(p[..., 4], tobj) * balance[level]
    parts = (lbox * gains["box"], lobj * gains["obj"], lcls * gains["cls"])
    return sum(parts) * raw[0].shape[0], torch.stack(parts).detach()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ciou_equals_a_yolov5_reference_with_torchvision(seed):
    raw, batch = random_case(seed)
    criterion = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4, args={"imgsz": 512}))
    gains = {"box": 0.05, "obj": 1.0 * (512 / 640) ** 2, "cls": 0.5 * 4 / 80}  # nl = 3: no level factor
    assert criterion.gains == pytest.approx(gains)
    total, loss_items = criterion(raw, batch)
    grads = torch.autograd.grad(total, raw)
    ref_total, ref_items = yolov5_reference(raw, batch, P3_P5_ANCHORS, gains)
    ref_grads = torch.autograd.grad(ref_total, raw)
    assert ref_items[0] > 0 and ref_items[2] > 0  # the batch has positives and class loss
    torch.testing.assert_close(items_of(loss_items), ref_items, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(total, ref_total, rtol=1e-5, atol=1e-6)
    for ours, ref in zip(grads, ref_grads):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-7)


def test_batch_without_targets():
    raw, batch = random_case(0)
    batch = {**batch, "batch_idx": torch.zeros(0), "cls": torch.zeros(0, 1), "bboxes": torch.zeros(0, 4)}
    total, loss_items = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4))(raw, batch)
    assert items_of(loss_items)[0] == 0 and items_of(loss_items)[2] == 0 and items_of(loss_items)[1] > 0
    total.backward()
    assert all(r.grad.isfinite().all() for r in raw)


# --- every box loss, degenerate boxes, autocast ---


def degenerate_case():
    raw, batch = random_case(3)
    with torch.no_grad():
        for r in raw:  # saturated logits: zero-width or 4 × anchor predicted boxes, objectness at ±1e4
            r.mul_(1e4)
    bboxes = batch["bboxes"].clone()
    bboxes[0, 2] = 0  # a zero-width and a zero-height target (no anchor matches them)
    bboxes[1, 3] = 0
    bboxes[2] = torch.tensor([0.5, 0.5, 1.0, 1.0])  # the whole image
    return raw, {**batch, "bboxes": bboxes}


@pytest.mark.parametrize("name", list_losses())
@pytest.mark.parametrize("case", [random_case, degenerate_case])
def test_every_registry_loss_is_finite_with_finite_gradients(name, case):
    raw, batch = case(0) if case is random_case else case()
    criterion = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), resolve_loss(name))
    total, loss_items = criterion(raw, batch)
    assert total.isfinite() and items_of(loss_items).isfinite().all() and items_of(loss_items)[0] > 0
    total.backward()
    assert all(r.grad.isfinite().all() for r in raw)
    assert isinstance(criterion.bbox_loss, BoxTermState) and criterion.bbox_loss.spec.loss == name


def test_wiou_updates_its_running_mean_in_training_only():
    raw, batch = random_case(0)
    criterion = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), resolve_loss("wiou"))
    assert loss_state(criterion) == {"wiou_mean": [1.0]}
    with torch.no_grad():  # validation: the state stays
        criterion(raw, batch)
    assert loss_state(criterion) == {"wiou_mean": [1.0]}
    criterion(raw, batch)  # training: one EMA step towards the batch's mean of 1 − IoU (< 1)
    stepped = loss_state(criterion)["wiou_mean"][0]
    assert stepped < 1.0
    other = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), resolve_loss("wiou"))
    restore_loss_state(other, {"wiou_mean": [0.25]})
    assert loss_state(other) == {"wiou_mean": [0.25]}
    share_loss_state(criterion, other)  # the EMA model's criterion reads the training one's buffer
    assert other.bbox_loss.iou_mean is criterion.bbox_loss.iou_mean


def test_bfloat16_autocast_matches_float32_on_the_same_values():
    raw, batch = random_case(1)
    half = [r.detach().bfloat16().requires_grad_(True) for r in raw]
    full = [r.detach().float().requires_grad_(True) for r in half]  # the same values in float32
    criterion = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, loss_items = criterion(half, batch)
    assert total.dtype == torch.float32
    total.backward()
    assert all(r.grad.dtype == torch.bfloat16 and r.grad.isfinite().all() for r in half)
    reference, reference_items = criterion(full, batch)
    torch.testing.assert_close(total, reference)
    torch.testing.assert_close(items_of(loss_items), items_of(reference_items))


# --- objectness target, IoU-balanced keys, one class ---


def test_obj_target_iou_vs_quality_for_alpha_ciou():
    spec = resolve_loss("alpha_ciou", alpha=3)
    pred = xywh_to_xyxy(torch.tensor([[1.0, 0.5, 1.0, 2.25]]))  # the one-box case's boxes
    target = xywh_to_xyxy(torch.tensor([[0.5, 0.5, 1.0, 2.0]]))
    # α-CIoU (α = 3): 1 − IoU³ + (ρ²/c²)³ + (βv)³, so its quality 1 − loss = IoU³ − (ρ²/c²)³ − (βv)³.
    quality = IOU**3 - RHO2_C2**3 - (V / (1 - IOU + V) * V) ** 3
    assert 1 - float(spec(pred, target)) == pytest.approx(quality, rel=1e-5)
    cell = {}
    for obj_target in ("quality", "iou"):
        criterion = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]), spec, obj_target=obj_target)
        cell[obj_target] = float(objectness_targets(criterion, one_box_raw(), batch_of(ONE_BOX))[0][0, 0, 2, 1])
    assert cell["quality"] == pytest.approx(quality, abs=1e-6)  # the α-powered value, as the α-IoU authors' code
    assert cell["iou"] == pytest.approx(IOU, abs=1e-6)  # 4/13 = 0.308 against 0.029
    with pytest.raises(ConfigError, match="obj_target"):
        AnchorComputeLoss(stand_in([[[1.0, 1.0]]]), obj_target="ciou")


def test_iou_balanced_localisation_eq6_by_hand_and_scaled_by_w_loc():
    # eq. 6: lbox = mean_pos(w_loc · IoU^λ · (1 − CIoU)); one positive at IoU 4/13.
    balanced = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]), balance=IoUBalance(loc_lambda=1.5, loc_norm=2.0))
    _, loss_items = balanced(one_box_raw(), batch_of(ONE_BOX))
    assert float(items_of(loss_items)[0]) == pytest.approx(0.15 * 2.0 * IOU**1.5 * (1 - CIOU), rel=1e-5)
    raw, batch = random_case(0)
    box = {}
    for w_loc in (1.0, 3.0):
        criterion = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), balance=IoUBalance(loc_lambda=1.5, loc_norm=w_loc))
        box[w_loc] = items_of(criterion(raw, batch)[1])
    torch.testing.assert_close(box[3.0], box[1.0] * torch.tensor([3.0, 1.0, 1.0]))  # only the box term scales


def test_iou_balanced_localisation_eq7_keeps_the_total_not_the_gradient():
    raw, batch = random_case(0)
    plain = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4))
    eq7 = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), balance=IoUBalance(loc_lambda=1.5, loc_norm="eq7"))
    (plain_total, plain_items), (eq7_total, eq7_items) = plain(raw, batch), eq7(raw, batch)
    torch.testing.assert_close(items_of(eq7_items), items_of(plain_items))  # each level's box total is kept
    plain_grad = torch.autograd.grad(plain_total, raw[0])[0][..., :4]
    eq7_grad = torch.autograd.grad(eq7_total, raw[0])[0][..., :4]
    assert not torch.allclose(plain_grad, eq7_grad)  # high-IoU positives now count more


def test_iou_balanced_classification_eq4_weights_each_positive_row():
    # Two targets centred in cells (2, 2) and (5, 5) of an 8 × 8 grid, anchor 2 × 2, zero box logits:
    # pbox (0.5, 0.5, 2, 2) against targets 2 × 2 (IoU 1) and 2 × 4 (IoU 4/8 = 0.5).
    model = stand_in([[[2.0, 2.0]]], nc=3)
    boxes = [[2.5 / 8, 2.5 / 8, 2 / 8, 2 / 8], [5.5 / 8, 5.5 / 8, 2 / 8, 4 / 8]]
    raw = torch.zeros(1, 1, 8, 8, 8)
    raw[0, 0, 2, 2, 5:] = torch.tensor([0.3, 0.0, 0.0])  # class 0, target one-hot (1, 0, 0)
    raw[0, 0, 5, 5, 5:] = torch.tensor([0.0, 0.0, -0.2])  # class 2, target (0, 0, 1)
    batch = batch_of(boxes, classes=[0, 2])
    grads, items = {}, {}
    for eta in (0.0, 1.5):
        r = raw.clone().requires_grad_(True)
        criterion = AnchorComputeLoss(model, balance=IoUBalance(cls_eta=eta))
        total, loss_items = criterion([r], batch)
        grads[eta], items[eta] = torch.autograd.grad(total, r)[0], items_of(loss_items)
    # Rows' BCE sums CE_i = Σ_c ln(1 + e^x) − t·x; eq. 4: w_i = IoU_i^η · ΣCE / Σ IoU^η CE.
    ce = torch.tensor(
        [math.log(1 + math.exp(0.3)) - 0.3 + 2 * math.log(2), 2 * math.log(2) + math.log(1 + math.exp(-0.2)) + 0.2]
    )
    weights = normalised_iou_weights(torch.tensor([1.0, 0.5]), ce, 1.5)
    assert float((weights * ce).sum()) == pytest.approx(float(ce.sum()))
    torch.testing.assert_close(items[1.5], items[0.0])  # the positives' total is kept
    for w, (gj, gi) in zip(weights, [(2, 2), (5, 5)]):
        torch.testing.assert_close(grads[1.5][0, 0, gj, gi, 5:], w * grads[0.0][0, 0, gj, gi, 5:])
        torch.testing.assert_close(grads[1.5][0, 0, gj, gi, :5], grads[0.0][0, 0, gj, gi, :5])  # box, obj as they were


def test_one_class_has_no_class_loss_and_refuses_cls_eta():
    raw = one_box_raw(nc=1)
    total, loss_items = AnchorComputeLoss(stand_in([[[1.0, 1.0]]]))(raw, batch_of(ONE_BOX))
    total.backward()
    assert float(items_of(loss_items)[2]) == 0 and torch.all(raw[0].grad[..., 5] == 0)
    with pytest.raises(ConfigError, match=r"iou_cls_eta.*one class"):
        AnchorComputeLoss(stand_in([[[1.0, 1.0]]]), balance=IoUBalance(cls_eta=1.5))


# --- the real model ---


def test_real_anchor_model_loss_is_this_criterion_with_finite_gradients():
    from yolo_alpha.ultralytics.anchor_model import AnchorDetectionModel

    torch.manual_seed(0)
    model = AnchorDetectionModel("yolov5n-anchor.yaml", nc=3, verbose=False).train()
    batch = {
        "img": torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(0)),
        "batch_idx": torch.tensor([0.0, 0.0, 1.0]),
        "cls": torch.tensor([[0.0], [2.0], [1.0]]),
        "bboxes": torch.tensor([[0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.5, 0.4], [0.5, 0.5, 0.1, 0.15]]),
    }
    total, loss_items = model.loss(batch)
    assert isinstance(model.criterion, AnchorComputeLoss)
    direct_total, direct_items = AnchorComputeLoss(model)(model(batch["img"]), batch)
    torch.testing.assert_close(total, direct_total)
    torch.testing.assert_close(items_of(loss_items), items_of(direct_items))
    assert (items_of(loss_items) > 0).all()  # positives on some level: box, obj and cls terms all present
    # The head's anchors are in stride units (P3's smallest YOLOv5 anchor is 10 × 13 px at stride 8).
    torch.testing.assert_close(model.criterion.anchors[0, 0], torch.tensor([10 / 8, 13 / 8]))
    model.zero_grad()
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.isfinite().all() for g in grads)
    model.eval()  # validation passes the eval output (y, raw)
    with torch.inference_mode():
        eval_total, _ = model.loss(batch)
    assert eval_total.isfinite()


@pytest.mark.parametrize("name", [name for name in list_losses() if not loss_entry(name).quality])
def test_a_loss_whose_complement_is_no_quality_gets_the_iou_as_objectness_target(name):
    # Focal-EIoU, Wise-IoU v3 and PIoU v2 are small for some far boxes: 1 − loss would give them objectness ~1.
    raw, batch = random_case(0)
    quality = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), resolve_loss(name), obj_target="quality")
    iou = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), resolve_loss(name), obj_target="iou")
    torch.testing.assert_close(items_of(quality(raw, batch)[1])[1], items_of(iou(raw, batch)[1])[1])


def test_the_objectness_target_of_a_quality_loss_is_one_minus_the_loss():
    raw, batch = random_case(0)
    quality = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), resolve_loss("ciou"), obj_target="quality")
    iou = AnchorComputeLoss(stand_in(P3_P5_ANCHORS, nc=4), resolve_loss("ciou"), obj_target="iou")
    assert not torch.equal(items_of(quality(raw, batch)[1])[1], items_of(iou(raw, batch)[1])[1])
