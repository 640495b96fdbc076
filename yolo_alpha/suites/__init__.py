"""The reproduction suites behind `yolo-alpha reproduce` and `yolo-alpha demo`: what trains to test the paper's claims.

:mod:`~yolo_alpha.suites.definitions` holds the suites (cpu, voc, coco: regimes, warm starts, claim groups, seeds),
:mod:`~yolo_alpha.suites.runner` trains one (warm starts, then its cells as one resumable sweep) and writes its
report, :mod:`~yolo_alpha.suites.demo` trains one cell of the committed CPU study. The statistics of the claims are
:mod:`yolo_alpha.reproduce`'s (pure computation on rows); this package trains through :mod:`yolo_alpha.run` and
:mod:`yolo_alpha.sweep`, never Ultralytics directly.
"""
