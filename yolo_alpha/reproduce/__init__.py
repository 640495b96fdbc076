"""Reproduce the α-IoU paper claim by claim: sweep rows → per-seed pairs → paired statistics → one row per claim.

:mod:`~yolo_alpha.reproduce.stats` holds the statistics (Student's t quantile, the paired t-interval, verdicts),
:mod:`~yolo_alpha.reproduce.pairing` the pairing of results.jsonl rows by seed and their regime (anchor-based
YOLOv5 or task-aligned), :mod:`~yolo_alpha.reproduce.claims` the paper's claims C1 … C7 with the paper's figures.
Pure computation on rows: nothing here trains, reads files or imports Ultralytics.
"""

from yolo_alpha.reproduce.claims import (
    CLAIM_IDS,
    ClaimRow,
    EpochDifference,
    MissingClaim,
    all_claims,
    claim_c1,
    claim_c2,
    claim_c3,
    claim_c4,
    claim_c5,
    claim_c6,
    claim_c7,
    claim_schedule,
    epoch_differences,
    missing_claims,
)
from yolo_alpha.reproduce.pairing import (
    ClaimDataError,
    SeedPairs,
    config_alpha,
    loss_at,
    pair_by_seed,
    regime_of,
)
from yolo_alpha.reproduce.stats import (
    PairedDifference,
    flat_verdict,
    paired_difference,
    relative,
    t_critical,
    verdict,
)

__all__ = [
    "CLAIM_IDS",
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
    "config_alpha",
    "epoch_differences",
    "flat_verdict",
    "loss_at",
    "missing_claims",
    "pair_by_seed",
    "paired_difference",
    "regime_of",
    "relative",
    "t_critical",
    "verdict",
]
