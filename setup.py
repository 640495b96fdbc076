"""The wheel's packages: every package under yolo_alpha/, and the top-level cfg/ folder installed as yolo_alpha.cfg.

Everything else about the package is in pyproject.toml. Discovery lives here because pyproject.toml's
``packages.find`` cannot install a folder under another name (cfg/ → yolo_alpha.cfg), and a hand-written list
forgets new subpackages (pip-installed copies once lacked yolo_alpha.suites). yolo_alpha.config reads the settings
files as the package yolo_alpha.cfg, in a checkout (editable install) and in a wheel alike.
"""

from setuptools import find_packages, setup

CFG = "cfg"  # the repository's settings folder: default.yaml, voc.yaml, coco.yaml, sweeps/, models/
cfg_packages = find_packages(include=[CFG, f"{CFG}.*"])

setup(
    packages=[*find_packages(include=["yolo_alpha", "yolo_alpha.*"]), *(f"yolo_alpha.{p}" for p in cfg_packages)],
    package_dir={f"yolo_alpha.{p}": p.replace(".", "/") for p in cfg_packages},
    package_data={f"yolo_alpha.{p}": ["*.yaml"] for p in cfg_packages},
)
