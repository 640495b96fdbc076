"""The one adapter of Ultralytics internals: if Ultralytics changes, this folder changes, and nothing else.

Every other module of yolo-alpha uses only Ultralytics' public API (``from ultralytics import YOLO``) or our own
layers; ``tests/test_architecture.py`` holds that. What is touched here, and why:

- ``cfg``: Ultralytics' key table and value checks (so our keys sit beside theirs), its ``key=value`` parsing, the
  data-set and weights checks run before any run folder exists, the export formats, the offline fonts.
- ``criterion``: ``BboxLoss`` → :class:`~.criterion.AlphaBboxLoss` inside the model's stock criterion
  (``v8DetectionLoss``, or both branches of an end-to-end loss), the IoU-balanced classification wrapper of its
  assigner and BCE, and the loss state (Wise-IoU v3's running mean) driven by the loss spec.
- ``trainer``: ``DetectionTrainer`` → :class:`~.trainer.AlphaDetectionTrainer`, which accepts our keys on every path
  that builds a trainer (CLI / Python, resume, the DDP worker file) and records them with the run.
- ``validator``: Ultralytics' detection validator, keeping its COCO-format detections for pycocotools.
- ``checkpoints``: reading a weights file before use (is it one, is its run finished, which run folder a resume
  writes into), writing our settings into it.
- ``preflight``: what must hold before Ultralytics builds anything (device, model YAML and task, official weights,
  the run folder under the current folder), each refusal one line naming the key.
- ``dataset``: the training images and labels exactly as Ultralytics reads and verifies them (for the noisy view).
- ``converters``: Ultralytics' VOC class names and COCO-JSON converter, used by ``yolo-alpha data``.

This ``__init__`` imports nothing, so that importing one adapter module never imports the others.
"""
