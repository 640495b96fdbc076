"""Which claims of :mod:`~yolo_alpha.reproduce.claims` a sweep's rows cannot test, per regime, and the first reason."""

from __future__ import annotations

from typing import NamedTuple

from yolo_alpha.model_families import FAMILIES
from yolo_alpha.reproduce import pairing
from yolo_alpha.reproduce.claims import CLAIM_IDS, PAPER_ALPHA, PAPER_FAMILIES, all_claims, warmup
from yolo_alpha.reproduce.pairing import regime_of


class MissingClaim(NamedTuple):
    """A claim without a row in a regime, and why."""

    claim: str
    regime: str
    reason: str


_CLEAN = ("clean rows (noise_eta 0, full data)", pairing.clean_rows)
_NEEDS = {  # claim -> (the rows it reads, their filter, what it needs of them)
    "C1": (*_CLEAN, "{a} and its α = 1 form on otherwise equal params"),
    "C2": (*_CLEAN, "{a} and its α = 1 form, with AP50 … AP95"),
    "C3": ("noisy rows (noise_eta > 0, full data)", pairing.noisy_rows, "{a} and its α = 1 form at some η"),
    "C4": ("rows", list, "one loss at 3 α or more, inside and outside [2, 4], or at α < 1 and α = 1"),
    "C5": (*_CLEAN, "{a} and its α = 1 form with TP50/TP90 (rows from before the COCO evaluation have none)"),
    "C6": (*_CLEAN, "{a} and its α = 1 form with per-epoch series of 3 epochs or more"),
    "C7": ("rows with a 'fraction' param (noise_eta 0)", pairing.sized_rows, "{a} and its α = 1 form at some fraction"),
    "S": (*_CLEAN, "{a} with alpha_warmup > 0, and its α = 1 form or itself without it"),
}


def missing_claims(rows, series=None, *, families=PAPER_FAMILIES, alpha=PAPER_ALPHA, default_model=None, claims=None):
    """Return a MissingClaim per claim × regime without a row; the reason is the first unmet need.

    `claims`: the ClaimRows already computed (by default :func:`all_claims` of the same arguments).
    """
    if claims is None:
        claims = all_claims(rows, series, families=families, alpha=alpha, default_model=default_model)
    found, wanted = {(c.claim, c.regime) for c in claims}, f"an α-loss of {', '.join(families)} at α = {alpha:g}"
    missing = []
    scheduled = any(warmup(r["params"]) > 0 for r in rows)
    for claim in CLAIM_IDS if scheduled else CLAIM_IDS[:-1]:  # S only for sweeps that tried a schedule: ours
        what, select, need = _NEEDS[claim]
        for regime in (r for r in FAMILIES if (claim, r) not in found):
            mine = [r for r in rows if regime_of(r["params"], default_model) == regime]
            ours = [r for r in mine if pairing.family_of(r["params"].get("loss")) in families]
            if not mine:
                reason = f"no rows of the {regime} regime"
            elif not ours:
                reason = f"no rows of the losses {', '.join(families)} or their α forms"
            elif not select(ours):
                reason = f"no {what}"
            elif claim == "C6" and not series:
                reason = "no per-epoch mAP50-95 series (a run trained with val=False records none)"
            else:
                reason = f"no pair in the {what}: needs {need.format(a=wanted)}"
            missing.append(MissingClaim(claim, regime, reason))
    return missing
