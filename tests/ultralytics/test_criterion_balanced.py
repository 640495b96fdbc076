"""IoU-balanced classification and localisation losses (Wu et al., eq. 3-7) and Wise-IoU v3's state in the criterion."""

import copy
import inspect
import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hypothesis import given
from hypothesis import strategies as st
from test_criterion import loss_and_grads, make_batch, make_model
from torch import nn
from ultralytics.utils.loss import BboxLoss

from yolo_alpha.config import default_settings
from yolo_alpha.errors import ConfigError
from yolo_alpha.losses import resolve_loss
from yolo_alpha.losses.balance import NO_BALANCE, IoUBalance, normalised_iou_weights, regressed_iou, rescaled_to_total
from yolo_alpha.losses.wise_iou import IOU_MEAN_INIT, IOU_MEAN_MOMENTUM
from yolo_alpha.settings import from_flat
from yolo_alpha.ultralytics.cls_balance import IoUBalancedClassification
from yolo_alpha.ultralytics.criterion import AlphaBboxLoss, install_criterion
from yolo_alpha.ultralytics.loss_state import (
    detection_branches,
    loss_state,
    mean_over_ranks,
    restore_loss_state,
    share_loss_state,
)


def check_balance_keys(flat: dict) -> tuple:
    balance = from_flat(flat).balance
    return balance.cls_eta, balance.loc_lambda, balance.loc_norm


CIOU = resolve_loss("ciou", alpha=1)


# --- the weights (pure math) ---


def test_normalised_weights_hand_values():
    # IoU 1, 0.5, 0 with losses 1, 2, 3. η = 1: raw weights 1, 0.5, 0; Σ L = 6, Σ IoU L = 1 + 1 + 0 = 2, factor 3.
    iou, losses = torch.tensor([1.0, 0.5, 0.0]), torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(normalised_iou_weights(iou, losses, 1.0), torch.tensor([3.0, 1.5, 0.0]))
    # η = 2: raw 1, 0.25, 0; Σ IoU² L = 1 + 0.5 = 1.5, factor 6 / 1.5 = 4.
    torch.testing.assert_close(normalised_iou_weights(iou, losses, 2.0), torch.tensor([4.0, 1.0, 0.0]))


def test_normalised_weights_fall_back_to_one_when_every_weighted_loss_is_zero():
    # All positives at IoU 0: no factor can keep the total, so the loss stays unweighted rather than 0/0.
    weights = normalised_iou_weights(torch.zeros(3), torch.tensor([1.0, 2.0, 3.0]), 1.5)
    assert torch.equal(weights, torch.ones(3))
    assert normalised_iou_weights(torch.zeros(0), torch.zeros(0), 1.5).shape == (0,)  # no positives


@given(
    st.lists(st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 10.0)), min_size=1, max_size=20),
    st.floats(0.0, 4.0),
)
def test_normalised_weights_keep_the_total_and_rank_by_iou(pairs, power):
    iou = torch.tensor([p[0] for p in pairs], dtype=torch.float64, requires_grad=True)
    losses = torch.tensor([p[1] for p in pairs], dtype=torch.float64, requires_grad=True)
    weights = normalised_iou_weights(iou, losses, power)
    assert not weights.requires_grad  # detached: no gradient through the weight or its normaliser
    torch.testing.assert_close((weights * losses).sum(), losses.sum())  # eq. 4 / eq. 7: the positives' total kept
    order = torch.argsort(iou.detach())
    ratios = weights[order] / iou.detach()[order].pow(power)  # one common factor: weight ∝ IoU^power
    torch.testing.assert_close(ratios, ratios[:1].expand_as(ratios))


def test_rescaled_to_total_has_the_totals_value_and_the_weighted_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    weighted, total = (x * torch.tensor([0.5, 0.25])).sum(), x.sum()  # 1.0 and 3.0
    result = rescaled_to_total(weighted, total)
    result.backward()
    torch.testing.assert_close(result, torch.tensor(3.0))
    torch.testing.assert_close(x.grad, torch.tensor([1.5, 0.75]))  # (0.5, 0.25) × 3 / 1: the factor is a constant
    assert rescaled_to_total(torch.tensor(0.0), torch.tensor(2.0)) == 2.0  # nothing weighted: the total


# --- IoU-balanced classification, eq. 3-4 ---


def hand_made_assignment():
    """One image, four anchors, two classes; anchors 0 and 2 positive with IoU 1 and 0.5 against their targets."""
    fg_mask = torch.tensor([[True, False, True, False]])
    target_bboxes = torch.tensor([[[0.0, 0, 10, 10], [0, 0, 0, 0], [20, 20, 30, 30], [0, 0, 0, 0]]])
    pd_bboxes = torch.tensor([[[0.0, 0, 10, 10], [5, 5, 8, 8], [20, 20, 30, 25], [1, 1, 2, 2]]])  # IoU 1, -, 0.5, -
    target_scores = torch.tensor([[[0.9, 0.0], [0.0, 0.0], [0.0, 0.4], [0.0, 0.0]]])

    def stock_assigner(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt):
        return None, target_bboxes, target_scores, fg_mask, None

    return stock_assigner, pd_bboxes, target_scores, fg_mask


def test_iou_balanced_bce_weights_each_positive_row_by_eq4():
    assigner, pd_bboxes, target_scores, fg_mask = hand_made_assignment()
    balanced = IoUBalancedClassification(assigner, nn.BCEWithLogitsLoss(reduction="none"), eta=2.0)
    balanced.assign(None, pd_bboxes, None, None, None, None)
    logits = torch.tensor([[[2.0, -1.0], [0.5, 0.3], [-0.5, 1.0], [-2.0, 0.1]]], requires_grad=True)
    ours = balanced.bce(logits, target_scores)
    stock = nn.functional.binary_cross_entropy_with_logits(logits, target_scores, reduction="none")
    assert torch.equal(ours[~fg_mask], stock[~fg_mask])  # negatives untouched
    ce = stock[fg_mask].sum(-1).detach()  # CE of each positive: its whole row of nc logits
    iou_eta = torch.tensor([1.0, 0.5**2])
    weights = iou_eta * ce.sum() / (iou_eta * ce).sum()  # eq. 4
    torch.testing.assert_close(ours[fg_mask], stock[fg_mask] * weights[:, None])
    torch.testing.assert_close(ours[fg_mask].sum(), stock[fg_mask].sum())  # the positives' total is unchanged
    # No gradient through the weight or the normaliser: each row's gradient is w_i times the stock row's.
    (ours_grad,) = torch.autograd.grad(ours.sum(), logits)
    (stock_grad,) = torch.autograd.grad(stock.sum(), logits)
    torch.testing.assert_close(ours_grad[fg_mask], stock_grad[fg_mask] * weights[:, None])
    torch.testing.assert_close(ours_grad[~fg_mask], stock_grad[~fg_mask])


def test_iou_balanced_bce_refuses_to_run_without_a_fresh_assignment():
    assigner, pd_bboxes, target_scores, _ = hand_made_assignment()
    balanced = IoUBalancedClassification(assigner, nn.BCEWithLogitsLoss(reduction="none"), eta=1.5)
    balanced.assign(None, pd_bboxes, None, None, None, None)
    balanced.bce(torch.zeros(1, 4, 2), target_scores)
    with pytest.raises(RuntimeError, match="iou_cls_eta"):  # the mask of the last batch is never reused
        balanced.bce(torch.zeros(1, 4, 2), target_scores)


# --- IoU-balanced localisation, eq. 5-7 ---


def bbox_inputs():
    """Three anchors (two positive) with random DFL logits and boxes, as Ultralytics passes them to BboxLoss."""
    g = torch.Generator().manual_seed(0)
    anchor_points = torch.tensor([[2.5, 2.5], [5.5, 3.5], [7.5, 7.5]])
    target_bboxes = torch.tensor([[[1.0, 1.0, 4.0, 5.0], [3.0, 2.0, 8.0, 6.0], [0.0, 0.0, 0.0, 0.0]]])
    pred_bboxes = (target_bboxes + torch.rand(1, 3, 4, generator=g) - 0.5).requires_grad_()
    pred_dist = torch.randn(1, 3, 64, generator=g).requires_grad_()
    target_scores = torch.tensor([[[0.8, 0.0], [0.0, 0.5], [0.0, 0.0]]])
    fg_mask = torch.tensor([[True, True, False]])
    # Ultralytics 8.4 also passes imgsz and stride (used by the L1 term of reg_max = 1 heads); 8.3 does not.
    extra = (
        (torch.tensor([64.0, 64.0]), torch.ones(3, 1))
        if len(inspect.signature(BboxLoss.forward).parameters) > 8
        else ()
    )
    return pred_dist, pred_bboxes, anchor_points, target_bboxes, target_scores, target_scores.sum(), fg_mask, *extra


def test_localisation_weights_both_box_terms_by_wloc_iou_power_eq6():
    args = bbox_inputs()
    pred_dist, pred_bboxes, target_bboxes, target_scores, total, fg_mask = (
        args[0],
        args[1],
        args[3],
        args[4],
        args[5],
        args[6],
    )
    lam, w_loc = 1.5, 2.0
    loss_box, loss_dfl = AlphaBboxLoss(16, CIOU, IoUBalance(loc_lambda=lam, loc_norm=w_loc))(*args)
    # Reference, positive by positive: weights from the detached IoU; DFL of one positive = stock with only it in fg.
    iou = regressed_iou(pred_bboxes[fg_mask], target_bboxes[fg_mask])
    tal = target_scores[fg_mask].sum(-1)
    ref_box = w_loc * (CIOU(pred_bboxes[fg_mask], target_bboxes[fg_mask]) * tal * iou**lam).sum() / total
    ref_dfl = 0
    for i, weight in zip(fg_mask[0].nonzero()[:, 0], iou**lam):
        only_i = torch.zeros_like(fg_mask)
        only_i[0, i] = True
        ref_dfl = ref_dfl + w_loc * weight * BboxLoss(16)(*args[:6], only_i, *args[7:])[1]
    torch.testing.assert_close(loss_box, ref_box)
    torch.testing.assert_close(loss_dfl, ref_dfl)
    inputs = (pred_dist, pred_bboxes)
    for ours, ref in zip(
        torch.autograd.grad(loss_box + loss_dfl, inputs), torch.autograd.grad(ref_box + ref_dfl, inputs)
    ):
        torch.testing.assert_close(ours, ref)  # the reference's weights are detached: so are ours


def test_eq7_keeps_each_terms_total_and_is_eq6_with_the_normalising_wloc():
    args = bbox_inputs()
    stock = AlphaBboxLoss(16, CIOU)(*args)
    eq7 = AlphaBboxLoss(16, CIOU, IoUBalance(loc_lambda=1.5, loc_norm="eq7"))(*args)
    eq6 = AlphaBboxLoss(16, CIOU, IoUBalance(loc_lambda=1.5, loc_norm=1.0))(*args)
    for term_eq7, term_stock, term_eq6 in zip(eq7, stock, eq6):
        torch.testing.assert_close(term_eq7, term_stock)  # the positives' total is unchanged
        w_loc = (term_stock / term_eq6).detach()  # eq. 7 = eq. 6 with w_loc = Σ L / Σ IoU^λ L
        (grad_eq7,) = torch.autograd.grad(term_eq7, args[1], retain_graph=True, allow_unused=True)
        (grad_eq6,) = torch.autograd.grad(term_eq6, args[1], retain_graph=True, allow_unused=True)
        if grad_eq6 is not None:  # the DFL term reaches pred_dist, not pred_bboxes
            torch.testing.assert_close(grad_eq7, w_loc * grad_eq6)


# --- the criterion: off is stock, on keeps totals and changes gradients ---


@pytest.mark.parametrize("model_yaml", ["yolov8n.yaml", "yolo26n.yaml"], indirect=True)
def test_balance_off_installs_nothing_and_equals_stock(model_yaml):
    stock = make_model(model_yaml)
    ours, plain = copy.deepcopy(stock), copy.deepcopy(stock)
    criterion = install_criterion(ours, CIOU, IoUBalance(cls_eta=0.0, loc_lambda=0.0, loc_norm=1.0))
    install_criterion(plain, CIOU)
    for branch in detection_branches(criterion):  # the stock assigner and BCE objects, not wrappers
        assert type(branch.assigner).__module__ == "ultralytics.utils.tal"
        assert type(branch.bce) is nn.BCEWithLogitsLoss
    batch = make_batch()
    stock_loss, stock_grads = loss_and_grads(stock, batch)
    our_loss, our_grads = loss_and_grads(ours, batch)
    plain_loss, plain_grads = loss_and_grads(plain, batch)
    assert torch.equal(our_loss, plain_loss) and torch.equal(our_grads, plain_grads)  # bit for bit
    assert torch.equal(our_loss[1:], stock_loss[1:])  # cls and DFL: upstream's own code, bit for bit
    torch.testing.assert_close(our_loss[0], stock_loss[0], rtol=1e-6, atol=0)  # our CIoU vs upstream's: round-off
    assert (our_grads - stock_grads).norm() <= 1e-5 * stock_grads.norm()


def test_balance_on_keeps_the_totals_and_changes_the_gradients():
    stock = make_model("yolov8n.yaml")
    batch = make_batch()
    stock_loss, stock_grads = loss_and_grads(stock, batch)
    for balance in (IoUBalance(cls_eta=1.5), IoUBalance(loc_lambda=1.5, loc_norm="eq7")):
        ours = copy.deepcopy(stock)
        install_criterion(ours, CIOU, balance)
        our_loss, our_grads = loss_and_grads(ours, batch)
        torch.testing.assert_close(our_loss, stock_loss, rtol=1e-5, atol=0)  # eq. 4 / eq. 7: same totals
        assert (our_grads - stock_grads).norm() > 1e-3 * stock_grads.norm()  # but other weights per positive


# --- Wise-IoU v3: the running mean of 1 − IoU ---

WIOU = resolve_loss("wiou")


def test_wiou_mean_moves_once_per_training_batch_and_never_in_validation():
    args = bbox_inputs()
    criterion = AlphaBboxLoss(16, WIOU)
    assert float(criterion.iou_mean) == IOU_MEAN_INIT and "iou_mean" in criterion.state_dict()
    batch_iou_loss = 1 - regressed_iou(args[1][args[6]], args[3][args[6]])
    with torch.inference_mode():  # validation: no update
        criterion(*(a.detach() for a in args))
    assert float(criterion.iou_mean) == IOU_MEAN_INIT
    criterion(*args)
    expected = (1 - IOU_MEAN_MOMENTUM) * IOU_MEAN_INIT + IOU_MEAN_MOMENTUM * batch_iou_loss.mean()
    torch.testing.assert_close(criterion.iou_mean, expected)


def test_wiou_means_are_restored_and_shared_with_the_ema_criterion():
    model = make_model("yolo26n.yaml")  # end to end: one mean per branch
    criterion = install_criterion(model, WIOU)
    assert loss_state(criterion) == {"wiou_mean": [IOU_MEAN_INIT, IOU_MEAN_INIT]}
    restore_loss_state(criterion, {"wiou_mean": [0.25, 0.5]})
    assert loss_state(criterion) == {"wiou_mean": [0.25, 0.5]}
    with pytest.raises(ConfigError, match="wiou_mean"):
        restore_loss_state(criterion, {"wiou_mean": [0.25]})
    ema_criterion = copy.deepcopy(criterion)  # as ModelEMA copies the model with its criterion
    share_loss_state(criterion, ema_criterion)
    criterion.one2one.bbox_loss.iou_mean.fill_(0.75)  # an in-place training update ...
    assert loss_state(ema_criterion) == {"wiou_mean": [0.25, 0.75]}  # ... is what validation reads
    assert loss_state(install_criterion(model, CIOU)) == {}


def _mean_on_rank(rank: int, init_file: str, results) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        values = [torch.tensor([0.2, 0.4, 0.6]), torch.tensor([1.0])][rank]  # 3 positives here, 1 there
        mean, count = mean_over_ranks(values)
        criterion = AlphaBboxLoss(16, WIOU)
        criterion.update_iou_mean(values)
        results.put((rank, float(mean), float(count), float(criterion.iou_mean)))
    finally:
        dist.destroy_process_group()


def test_wiou_mean_is_pooled_over_ddp_ranks(tmp_path):
    results = mp.get_context("spawn").SimpleQueue()
    mp.start_processes(_mean_on_rank, args=(str(tmp_path / "rendezvous"), results), nprocs=2, start_method="spawn")
    rows = sorted(results.get() for _ in range(2))
    pooled = (0.2 + 0.4 + 0.6 + 1.0) / 4  # every positive of every rank counts once
    for _, mean, count, iou_mean in rows:
        assert math.isclose(mean, pooled, rel_tol=1e-6) and count == 4
        assert math.isclose(
            iou_mean, (1 - IOU_MEAN_MOMENTUM) * IOU_MEAN_INIT + IOU_MEAN_MOMENTUM * pooled, rel_tol=1e-6
        )


# --- the keys ---


def test_balance_keys_default_to_off_and_accept_the_papers_values():
    assert check_balance_keys(default_settings()) == (0.0, 0.0, 1.0)
    assert check_balance_keys({}) == (0.0, 0.0, 1.0)
    assert check_balance_keys({"iou_cls_eta": 1.5, "iou_loc_lambda": 2, "iou_loc_norm": "eq7"}) == (1.5, 2.0, "eq7")
    assert IoUBalance(*check_balance_keys({})) == NO_BALANCE


@pytest.mark.parametrize(
    "key,bad",
    [
        ("iou_cls_eta", -0.5), ("iou_cls_eta", float("nan")), ("iou_cls_eta", True), ("iou_cls_eta", "1.5"),
        ("iou_loc_lambda", -1), ("iou_loc_lambda", float("inf")), ("iou_loc_lambda", None),
        ("iou_loc_norm", 0), ("iou_loc_norm", -2.0), ("iou_loc_norm", "eq5"), ("iou_loc_norm", False),
    ],
)  # fmt: skip
def test_bad_balance_values_name_their_key(key, bad):
    with pytest.raises(ConfigError, match=key):
        check_balance_keys({key: bad})
