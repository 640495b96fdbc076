"""The original anchor-based YOLOv5 as an Ultralytics model family: its model class, YAML resolution and YOLO entry.

- :class:`AnchorDetectionModel`: a ``DetectionModel`` (so Ultralytics' isinstance checks, trainer, validator,
  predictor and exporter take it) whose last layer is :class:`~.anchor_head.AnchorDetect`. Everything but that
  layer is built by Ultralytics' own ``parse_model``; nothing of Ultralytics is patched.
- :func:`resolve_model`: ``yolov5{n,s,m,l,x}-anchor.yaml`` → the shipped ``cfg/models/yolov5-anchor.yaml`` with the
  scale taken from the name (as Ultralytics resolves ``yolov5s.yaml`` → ``yolov5.yaml`` + scale s).
- :func:`build_detection_model`: the anchor model for an anchor YAML, Ultralytics' ``DetectionModel`` otherwise.
- :class:`AlphaYOLO`: ``ultralytics.YOLO`` whose detect models come from that factory.

Checkpoints of this family pickle :class:`AnchorDetectionModel` and :class:`~.anchor_head.AnchorDetect`: stock
Ultralytics holds no anchor head, so loading such a ``.pt`` needs ``yolo_alpha`` importable. Its ONNX and TorchScript
exports do not: they run anywhere (Ultralytics' ``YOLO("best.onnx")`` included).
"""

from __future__ import annotations

import re
from copy import deepcopy
from pathlib import Path
from typing import Any

import torch
from torch import nn
from ultralytics import YOLO
from ultralytics.nn.tasks import DetectionModel, guess_model_scale, parse_model, yaml_model_load
from ultralytics.utils import LOGGER, YAML
from ultralytics.utils.torch_utils import initialize_weights

from yolo_alpha.config import packaged_cfg_dir
from yolo_alpha.errors import ConfigError
from yolo_alpha.model_families import ANCHOR_FAMILY, ANCHOR_HEAD, family_of_name, has_anchor_head
from yolo_alpha.ultralytics.anchor_head import AnchorDetect, check_anchor_order

STRIDE_PROBE = 256
"""Side (px) of the zero image whose forward pass measures each level's stride, as in YOLOv5 and Ultralytics."""


def models_dir() -> Path:
    """Return the folder of the shipped model YAMLs (the repo's cfg/models/, installed as yolo_alpha.cfg.models)."""
    return packaged_cfg_dir() / "models"


def unscaled(path: Path) -> Path:
    """Return ``path`` with the scale letter dropped from its file name: yolov5s-anchor.yaml → yolov5-anchor.yaml."""
    return path.with_name(re.sub(r"^(yolov?\d+)[nsmlx](?=[-.])", r"\1", path.name))


def resolve_model(name: str) -> str:
    """Return the shipped YAML's path for a bare name of ours that is not a file (``yolov5s-anchor.yaml``), else name.

    A name resolves when ``cfg/models/`` holds it or its scale-free form (``yolov5-anchor.yaml``); the returned path
    keeps the scaled name, from which the scale is read. Files, paths and other names (``yolov8n.yaml``,
    ``best.pt``) are returned unchanged, for Ultralytics to resolve.
    """
    text = str(name)
    path = Path(text)
    if len(path.parts) != 1 or path.exists():
        return text
    shipped = models_dir() / path.name
    return str(shipped) if shipped.is_file() or unscaled(shipped).is_file() else text


def load_model_yaml(cfg: str | Path | dict) -> dict[str, Any]:
    """Return a model dict from a dict (copied) or a YAML name/path, with ``scale`` and ``yaml_file`` as Ultralytics.

    ``yolov5s-anchor.yaml`` reads ``yolov5-anchor.yaml`` (beside it, or shipped) with ``scale: s``; a name that is
    neither ours nor a file goes to Ultralytics' ``yaml_model_load`` (``yolov8n.yaml``; FileNotFoundError if unknown).
    """
    if isinstance(cfg, dict):
        return deepcopy(cfg)
    path = Path(resolve_model(str(cfg)))
    file = path if path.is_file() else unscaled(path)
    if not file.is_file():
        return yaml_model_load(path)
    d = YAML.load(file)
    d["scale"] = guess_model_scale(path)
    d["yaml_file"] = str(path)
    return d


def is_anchor_yaml(model: str | Path | dict) -> bool:
    """Return True if ``model`` is a model YAML (dict, name or path) whose last head layer is ``AnchorDetect``.

    A named YAML must say its family by its name too (:func:`yolo_alpha.model_families.family_of_name`: the anchor
    family's YAMLs are ``*-anchor.yaml``), because results rows and reports know a model only by that name: a YAML
    whose head and name disagree is refused here, before anything trains, so the two can never tell different
    families.

    Raises:
        ConfigError: for a named YAML whose head is ``AnchorDetect`` but whose name does not end in ``-anchor.yaml``,
            or the other way round.
    """
    if isinstance(model, dict):
        return has_anchor_head(model)
    if not str(model).lower().endswith((".yaml", ".yml")):
        return False
    try:
        anchor = has_anchor_head(load_model_yaml(model))
    except FileNotFoundError:
        return False
    named_anchor = family_of_name(model) == ANCHOR_FAMILY
    if anchor != named_anchor:
        head = f"its last head layer is {ANCHOR_HEAD}" if anchor else f"its last head layer is not {ANCHOR_HEAD}"
        rename = "rename it to end in -anchor.yaml" if anchor else "rename it so that it does not end in -anchor.yaml"
        raise ConfigError(
            f"model={model}: {head} but its name says the {'task-aligned' if anchor else 'anchor'} family; "
            f"{rename} (reports tell the family of a run by its model's name)"
        )
    return anchor


class AnchorDetectionModel(DetectionModel):
    """YOLOv5 with its anchor-based head, built from a YAML whose last head line is ``[from, 1, AnchorDetect, [nc,
    anchors]]`` (shipped: ``yolov5{n,s,m,l,x}-anchor.yaml``).

    It is a ``DetectionModel`` for Ultralytics' checks, but builds itself: ``DetectionModel.__init__`` would hand the
    head line to ``parse_model``, which knows no ``AnchorDetect``. As YOLOv5's model does, it measures the strides
    with one forward pass, flips the anchors if their order disagrees with the strides (:func:`check_anchor_order`),
    divides them by the strides (stride units, as the loss expects), then initialises the head biases
    (:meth:`AnchorDetect.initialize_biases`) and Ultralytics' BatchNorm settings. Its criterion is
    ``AnchorComputeLoss`` (YOLOv5's ``ComputeLoss`` with our box term).

    Checkpoints pickle this class: loading them needs ``yolo_alpha`` importable (stock Ultralytics cannot hold an
    anchor head); exports (ONNX, TorchScript) do not.
    """

    def __init__(
        self, cfg: str | Path | dict = "yolov5s-anchor.yaml", ch: int = 3, nc: int | None = None, verbose=True
    ):
        nn.Module.__init__(self)  # deliberately not DetectionModel.__init__ (see the class docstring)
        self.yaml = load_model_yaml(cfg)
        if not is_anchor_yaml(self.yaml):
            raise ValueError(f"{self.yaml.get('yaml_file', cfg)!s}: the last head layer is not {ANCHOR_HEAD}")
        self.yaml["channels"] = ch
        if nc and nc != self.yaml["nc"]:
            LOGGER.info(f"Overriding model.yaml nc={self.yaml['nc']} with nc={nc}")
            self.yaml["nc"] = nc
        body = deepcopy(self.yaml)
        *body["head"], (sources, repeats, _, args) = body["head"]
        layers, save = parse_model(body, ch=ch, verbose=verbose)
        index = len(layers)
        sources = [sources] if isinstance(sources, int) else list(sources)
        inputs = [j % index for j in sources]  # -1 is the layer just before the head
        if repeats != 1:
            raise ValueError(f"{ANCHOR_HEAD} is one layer (number 1), got {repeats}")
        values = {"nc": self.yaml["nc"], "anchors": self.yaml.get("anchors")}
        args = [values.get(a, a) if isinstance(a, str) else a for a in args]
        feats = self._probe(layers, inputs, ch)
        head = AnchorDetect(*args, ch=[x.shape[1] for x in feats])
        head.stride = torch.tensor([STRIDE_PROBE / x.shape[-2] for x in feats])
        head.i, head.f, head.type = index, sources if len(sources) > 1 else sources[0], type_name(head)
        head.np = sum(p.numel() for p in head.parameters())
        if verbose:
            LOGGER.info(f"{index:>3}{head.f!s:>20}{1:>3}{head.np:10.0f}  {head.type:<45}{[head.nc, 'anchors']!s:<30}")
        self.model = nn.Sequential(*layers, head)
        self.save = sorted({*save, *inputs})
        check_anchor_order(head)  # in pixels, as YOLOv5
        head.anchors /= head.stride.view(-1, 1, 1)
        head.initialize_biases()
        self.stride = head.stride.clone()
        self.names = {i: f"{i}" for i in range(self.yaml["nc"])}
        self.inplace = self.yaml.get("inplace", True)
        initialize_weights(self)
        if verbose:
            self.info()
            LOGGER.info("")

    @staticmethod
    def _probe(layers: nn.Sequential, inputs: list[int], ch: int) -> list[torch.Tensor]:
        """Return the feature maps the head reads for a zero image of STRIDE_PROBE px (their channels and strides).

        BatchNorm runs in eval mode, so the running statistics stay at their initial values.
        """
        outputs: list[torch.Tensor] = []
        x: Any = torch.zeros(1, ch, STRIDE_PROBE, STRIDE_PROBE)
        layers.eval()
        with torch.no_grad():
            for m in layers:
                if m.f != -1:
                    x = outputs[m.f] if isinstance(m.f, int) else [x if j == -1 else outputs[j] for j in m.f]
                x = m(x)
                outputs.append(x)
        layers.train()
        return [outputs[j] for j in inputs]

    def _predict_augment(self, x):
        """Refuse test-time augmentation: YOLOv5's flip/scale merge is not implemented for the anchor head."""
        raise NotImplementedError(
            "augment=True (test-time augmentation) is not supported by the anchor-based YOLOv5 model; use augment=False"
        )

    def init_criterion(self):
        """Return ``AnchorComputeLoss(self)``: YOLOv5's ComputeLoss (build_targets, objectness, class BCE)."""
        from yolo_alpha.ultralytics.anchor_loss import AnchorComputeLoss

        return AnchorComputeLoss(self)


def type_name(module: nn.Module) -> str:
    """Return ``module``'s class as Ultralytics' parse_model records it in ``.type`` (module path and class name)."""
    return f"{type(module).__module__}.{type(module).__qualname__}"


def build_detection_model(cfg: str | Path | dict, ch: int = 3, nc: int | None = None, verbose: bool = True):
    """Return :class:`AnchorDetectionModel` for an anchor YAML, else Ultralytics' ``DetectionModel`` (same arguments).

    The factory that :class:`AlphaYOLO` uses for the detect task, and that a trainer's ``get_model`` should call.
    """
    if is_anchor_yaml(cfg):
        return AnchorDetectionModel(cfg, ch=ch, nc=nc, verbose=verbose)
    return DetectionModel(cfg, ch=ch, nc=nc, verbose=verbose)


class AlphaYOLO(YOLO):
    """``ultralytics.YOLO`` that also builds the anchor family: ``AlphaYOLO("yolov5s-anchor.yaml")``.

    Names of ours resolve from any working directory (:func:`resolve_model`); detect models are built by
    :func:`build_detection_model`, so stock families (``yolov8n.yaml``, ``yolo11n.pt``, …) behave as with ``YOLO``.
    ``.val()``, ``.predict()`` and ``.export()`` run Ultralytics' own classes; ``.train()`` needs a trainer whose
    ``get_model`` uses :func:`build_detection_model` (Ultralytics' ``DetectionTrainer`` builds a stock
    ``DetectionModel``). An anchor ``.pt`` (``best.pt``, or one written by ``.save()``) pickles
    :class:`AnchorDetectionModel`: loading it needs ``yolo_alpha`` importable.
    """

    def __init__(self, model: str | Path | YOLO = "yolov5s-anchor.yaml", task: str | None = None, verbose=False):
        super().__init__(resolve_model(model) if isinstance(model, (str, Path)) else model, task=task, verbose=verbose)

    @property
    def task_map(self) -> dict[str, dict[str, Any]]:
        """Return YOLO's task map with :func:`build_detection_model` as the detect model."""
        task_map = super().task_map
        task_map["detect"] = {**task_map["detect"], "model": build_detection_model}
        return task_map
