# Installed as the package `yolo_alpha.cfg.models` (see pyproject.toml): the shipped model YAMLs.
