# Installed as the package `yolo_alpha.cfg.sweeps` (see pyproject.toml): the shipped sweep files.
