"""The measurements of scripts/bench.py, one module per thing measured; ``common`` holds what they share.

``loss_kernel`` (α-CIoU's one definition, eager and compiled, against Ultralytics, torchvision and the memory bound),
``training_step`` (a yolov8n step with every option and with each registry loss against stock), ``anchor_step`` (the
same for yolov5n-anchor against CIoU), ``registry_step`` (the criterion of every registry loss, timed beside its
family's baseline, which both step modules use), ``loader`` (the noisy training view against the clean one), ``sweep``
(the process backend's efficiency), ``suite_time`` (the CPU suite's wall time from its rows), ``cell_cost`` (one CPU
cell with the cheaper settings of ``yolo_alpha.suites.fast_cells`` against the committed suite's). Each records
Markdown sections and measured ratios; scripts/bench.py judges the goals.
"""
