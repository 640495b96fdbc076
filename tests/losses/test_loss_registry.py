"""The registry: each entry carries everything about its loss, consistently; signatures match what it declares."""

from __future__ import annotations

import inspect

import pytest
import torch

import yolo_alpha.losses as losses
from yolo_alpha.losses import IOU_TERMS, LOSSES, box_loss, list_losses
from yolo_alpha.losses.compose import FAMILIES, IoUFamily, IoUModifier, register_family, register_modifier
from yolo_alpha.losses.registry import Param, Reference, loss_entry, register_loss, takes_alpha


def test_public_api():
    expected = {"box_loss", "LossSpec", "resolve_loss", "list_losses", "LOSSES", "IOU_TERMS", "LossConfigError"}
    assert set(losses.__all__) == expected
    assert all(hasattr(losses, name) for name in expected)


def test_list_losses_is_sorted_and_matches_the_registry():
    assert list_losses() == sorted(LOSSES) and len(LOSSES) >= 20
    assert all(entry.name == name for name, entry in LOSSES.items())


def test_iou_terms():
    assert set(IOU_TERMS) == {"power", "boxcox"}


@pytest.mark.parametrize("name", list_losses())
def test_the_function_takes_exactly_what_its_entry_declares(name):
    entry = loss_entry(name)
    parameters = inspect.signature(entry.fn).parameters
    assert list(parameters)[:2] == ["pred", "target"]
    keyword_only = {key for key, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    core = set(entry.core_keywords(1.0, 1.0, IOU_TERMS["power"]))
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):  # composed: params by **keys
        # An α form without penalties (alpha_iou) accepts α₂ = None too, but its entry never hands it one.
        assert {*core, "eps"} <= keyword_only <= ({"alpha", "alpha2", "iou_term", "eps"} if core else {"eps"})
    else:
        own = {p.key: p.default for p in entry.params} | dict(entry.state)
        assert keyword_only == {*core, "eps", *own}
        assert {key: parameters[key].default for key in own} == own
    # Called with exactly those keys it computes; a key it does not take is a TypeError, never ignored.
    boxes = torch.tensor([[0.0, 0, 2, 2]])
    keys = {**entry.core_keywords(3.0, 3.0, IOU_TERMS["power"]), **{p.key: p.default for p in entry.params}}
    assert entry.fn(boxes, boxes, **keys).shape == (1,)
    if not entry.takes_alpha:
        with pytest.raises(TypeError):
            entry.fn(boxes, boxes, alpha=3.0)


@pytest.mark.parametrize("name", list_losses())
def test_every_entry_documents_its_formula_equation_and_paper(name):
    entry = loss_entry(name)
    assert entry.formula and entry.equation and entry.reference.paper
    doc = inspect.getdoc(entry.fn)
    assert doc.startswith("Return ") and ("eq. " in doc or entry.equation in doc)  # a number, or its name
    assert all(p.help and p.key not in ("loss", "alpha", "alpha2", "iou_term") for p in entry.params)


@pytest.mark.parametrize("name", list_losses())
def test_alpha_forms_pair_up_and_a_loss_without_alpha_says_why(name):
    entry = loss_entry(name)
    if entry.takes_alpha:
        assert entry.takes_iou_term and not entry.alpha_form
        assert entry.classic_form is None or loss_entry(entry.classic_form).alpha_form == name
    else:
        assert not (entry.takes_alpha2 or entry.takes_iou_term or entry.classic_form)
        assert entry.alpha_form in LOSSES or entry.why_no_alpha
        if entry.alpha_form:
            assert loss_entry(entry.alpha_form).classic_form == name and entry.alpha_form == f"alpha_{name}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_classic_loss_is_its_alpha_form_at_alpha_1(family, random_box_pairs):
    pred, target = random_box_pairs(64, seed=4, dtype=torch.float64)
    classic, alpha = loss_entry(family), loss_entry(f"alpha_{family}")
    keys = {p.key: p.default for p in classic.params}
    expected = alpha.fn(pred, target, **alpha.core_keywords(1.0, 1.0, IOU_TERMS["power"]), **keys)
    torch.testing.assert_close(classic.fn(pred, target, **keys), expected, rtol=0, atol=0)


def test_registering_a_taken_name_or_a_loss_without_alpha_or_reason_is_refused():
    with pytest.raises(ValueError, match="'giou' is already registered"):
        register_loss("giou", lambda pred, target, *, eps: pred, formula="x", equation="x", reference=Reference("x"))
    with pytest.raises(ValueError, match="give its alpha_form or why_no_alpha"):
        register_loss("my_loss", lambda pred, target, *, eps: pred, formula="x", equation="x", reference=Reference("x"))
    with pytest.raises(ValueError, match="alpha2 and iou_term belong to losses that take alpha"):
        register_loss(
            "my_loss", lambda p, t, **k: p, formula="x", equation="x", reference=Reference("x"), takes_alpha2=True
        )
    assert "my_loss" not in LOSSES


def test_register_refuses_a_core_key_or_a_second_meaning_for_a_key():
    def register(key, default):
        register_loss(
            "my_loss", lambda p, t, **k: p, formula="x", equation="x", reference=Reference("x"),
            params=(Param(key, default, "help"),), why_no_alpha="test",
        )  # fmt: skip

    with pytest.raises(ValueError, match="would shadow the core key 'alpha'"):
        register("alpha", 2.0)
    with pytest.raises(ValueError, match="'kappa' of 'my_loss' differs from the one of"):
        register("kappa", 5.0)
    assert "my_loss" not in LOSSES


def test_one_family_declaration_registers_both_forms_and_a_modifier_one_per_modifiable_family(monkeypatch):
    monkeypatch.setattr("yolo_alpha.losses.registry.LOSSES", dict(LOSSES))  # a scratch registry for this test
    monkeypatch.setattr("yolo_alpha.losses.compose.FAMILIES", {})
    from yolo_alpha.losses import compose, registry

    penalty = IoUFamily(
        "toy", lambda pred, target, iou, union, eps: (1 - iou,), "1 − IoU + (1 − IoU)", "1 − IoU^α + (1 − IoU)^α₂",
        "toy eq. 1", Reference("toy"), modifiable=True,
    )  # fmt: skip
    register_family(penalty)
    register_modifier(IoUModifier("half", "IoU_h", lambda p, t, iou, eps, h_k: iou * h_k, (Param("h_k", 0.5, "h"),),
                                  "half eq. 1", Reference("half")))  # fmt: skip
    assert {"toy", "alpha_toy", "half_toy", "alpha_half_toy"} <= set(registry.LOSSES)
    assert set(compose.FAMILIES) == {"toy", "half_toy"}
    half = registry.LOSSES["half_toy"]
    assert half.formula == "1 − IoU_h + (1 − IoU)" and half.alpha_form == "alpha_half_toy"
    boxes = torch.tensor([[0.0, 0, 2, 2]])
    assert half.fn(boxes, boxes, h_k=0.5).item() == pytest.approx(0.5)  # 1 − 1·0.5 + (1 − 1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        half.fn(boxes, boxes, kappa=3.0)


def test_which_losses_take_alpha():
    assert takes_alpha("alpha_ciou") and not takes_alpha("ciou") and not takes_alpha("wiou")
    assert box_loss(torch.zeros(0, 4), torch.zeros(0, 4), loss="ciou", reduction="mean").item() == 0


def test_every_module_that_registers_a_loss_is_imported_with_the_package():
    # A loss module missing from spec.py's import list would register only when something imports it by chance.
    import re
    import sys
    from pathlib import Path

    package = Path(losses.__file__).parent
    registering = {
        f"yolo_alpha.losses.{path.stem}"
        for path in package.glob("*.py")
        if re.search(r"^(\w+ = |\w+, \w+ = )?register_(loss|family|modifier)\(", path.read_text(), flags=re.M)
    }
    assert len(registering) >= 12 and registering <= set(sys.modules)
    assert {entry.fn.__module__ for entry in LOSSES.values()} == registering
