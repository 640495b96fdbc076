"""Reproduce the α-IoU paper claim by claim: sweep rows → per-seed pairs → paired statistics → one row per claim.

:mod:`~yolo_alpha.reproduce.stats` holds the statistics (Student's t quantile, the paired t-interval, the sign-flip
check), :mod:`~yolo_alpha.reproduce.verdicts` the four verdicts and the equivalence margins,
:mod:`~yolo_alpha.reproduce.pairing` the pairing of results.jsonl rows by seed and their regime (anchor-based
YOLOv5 or task-aligned), :mod:`~yolo_alpha.reproduce.claims` the paper's claims C1 … C7 with the paper's figures,
:mod:`~yolo_alpha.reproduce.missing` the claims a sweep cannot test and why.
Pure computation on rows: nothing here trains, reads files or imports Ultralytics.
"""

from yolo_alpha.reproduce.claims import (
    CLAIM_IDS,
    ClaimRow,
    EpochDifference,
    all_claims,
    claim_c1,
    claim_c2,
    claim_c3,
    claim_c4,
    claim_c5,
    claim_c6,
    claim_c7,
    claim_schedule,
    compared_families,
    epoch_differences,
)
from yolo_alpha.reproduce.missing import MissingClaim, missing_claims
from yolo_alpha.reproduce.pairing import (
    ClaimDataError,
    SeedPairs,
    config_alpha,
    loss_at,
    pair_by_seed,
    regime_of,
)
from yolo_alpha.reproduce.stats import PairedDifference, paired_difference, relative, sign_flip_p, t_critical
from yolo_alpha.reproduce.verdicts import DEFAULT_MARGIN, DEFAULT_MARGINS, VERDICTS, seeds_needed, verdict

__all__ = [
    "CLAIM_IDS",
    "DEFAULT_MARGIN",
    "DEFAULT_MARGINS",
    "VERDICTS",
    "ClaimDataError",
    "ClaimRow",
    "EpochDifference",
    "MissingClaim",
    "PairedDifference",
    "SeedPairs",
    "all_claims",
    "claim_c1",
    "claim_c2",
    "claim_c3",
    "claim_c4",
    "claim_c5",
    "claim_c6",
    "claim_c7",
    "claim_schedule",
    "compared_families",
    "config_alpha",
    "epoch_differences",
    "loss_at",
    "missing_claims",
    "pair_by_seed",
    "paired_difference",
    "regime_of",
    "relative",
    "seeds_needed",
    "sign_flip_p",
    "t_critical",
    "verdict",
]
