# Installed as the package `yolo_alpha.cfg` (see pyproject.toml) so that the YAML files travel with the package.
