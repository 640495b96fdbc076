"""The measurements of scripts/bench.py, one module per thing measured; ``common`` holds what they share.

``loss_kernel`` (the fused α-CIoU kernel against Ultralytics and the memory bound), ``training_step`` (a yolov8n step
with every option against stock), ``loader`` (the noisy training view against the clean one), ``sweep`` (the process
backend's efficiency). Each records Markdown sections and measured ratios; scripts/bench.py judges the goals.
"""
