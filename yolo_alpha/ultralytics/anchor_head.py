"""YOLOv5's anchor-based ``Detect`` head (v6.0/v7.0), shaped so that Ultralytics' NMS, validator and exporter run it.

Written from the description of YOLOv5's ``models/yolo.py`` (no code copied). Each of the ``nl`` output levels has a
1×1 convolution giving, per cell and per anchor, ``no = 5 + nc`` logits: x, y, w, h, objectness, one per class. The
decode (YOLOv5's, with anchors held in stride units as its ``ComputeLoss`` expects them)::

    xy = (2σ(t_xy) − 0.5 + grid) · stride          box centre in pixels
    wh = (2σ(t_wh))² · anchor · stride              box size in pixels (anchor in stride units)
    score_c = σ(t_obj) · σ(t_c)                     what Ultralytics' NMS reads as the class-c score

Training mode returns YOLOv5's raw list; eval mode returns ``(y, raw)``, with ``y`` laid out as Ultralytics' own heads
do, ``(b, 4 + nc, N)`` xywh in pixels, so ``ops.non_max_suppression`` and the validator take it unchanged; exporting
(``export = True``, or under ``torch.jit`` tracing / ONNX export) returns ``y`` alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class AnchorDetect(nn.Module):
    """YOLOv5's Detect: ``nl`` levels × ``na`` anchors × ``5 + nc`` outputs per cell.

    Attributes:
        nc, no, nl, na: classes, outputs per anchor (5 + nc), output levels, anchors per level.
        anchors: buffer (nl, na, 2), anchor (w, h) in pixels as built, in stride units once the model has divided
            them by :attr:`stride` (``AnchorDetectionModel`` does, as YOLOv5's model does).
        stride: buffer (nl,), pixels per cell of each level, set by the model (not saved in ``state_dict``).
        m: one 1×1 ``Conv2d`` per level, ``ch[i] → na · no``.
        export: return only the decoded ``y`` in eval mode (also implied while tracing or exporting to ONNX).
    """

    def __init__(self, nc: int = 80, anchors: Sequence[Sequence[float]] = (), ch: Sequence[int] = ()):
        super().__init__()
        if not anchors or not all(isinstance(row, (list, tuple)) and row for row in anchors):
            raise ValueError(f"AnchorDetect needs one list of anchor (w, h) pairs per level, got anchors={anchors!r}")
        if len({len(row) for row in anchors}) != 1 or len(anchors[0]) % 2:
            raise ValueError(f"every level needs the same even number of anchor values (w, h pairs), got {anchors!r}")
        if len(ch) != len(anchors):
            raise ValueError(f"{len(anchors)} anchor levels but {len(ch)} input feature maps (channels {list(ch)})")
        self.nc = int(nc)
        self.no = self.nc + 5
        self.nl = len(anchors)
        self.na = len(anchors[0]) // 2
        self.register_buffer("anchors", torch.tensor(anchors, dtype=torch.float32).view(self.nl, self.na, 2))
        self.register_buffer("stride", torch.zeros(self.nl), persistent=False)
        self.m = nn.ModuleList(nn.Conv2d(c, self.na * self.no, 1) for c in ch)
        self.export = False
        self.end2end = False  # read by Ultralytics' validator, predictor and exporter: this head needs NMS
        self._grids: dict[tuple, torch.Tensor] = {}

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """Return the raw list (training), ``(y, raw)`` (eval) or ``y`` (exporting); see the module docstring.

        raw[i] has shape (b, na, ny_i, nx_i, 5 + nc) (logits); y has shape (b, 4 + nc, N), N = Σ na · ny_i · nx_i,
        ordered level by level, then anchor, row, column.
        """
        raw = []
        for i, conv in enumerate(self.m):
            p = conv(x[i])
            b, _, ny, nx = p.shape
            raw.append(p.view(b, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous())
        if self.training:
            return raw
        y = self.decode(raw)
        return y if self.exporting() else (y, raw)

    def exporting(self) -> bool:
        """Return True when the eval output must be one tensor: ``export`` set, or tracing / exporting to ONNX."""
        return bool(self.export) or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()

    def decode(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """Return (b, 4 + nc, N): xywh in pixels and σ(obj) · σ(cls) per class, from the raw list of :meth:`forward`."""
        levels = []
        for i, p in enumerate(raw):
            b, _, ny, nx, _ = p.shape
            grid = self.grid(i, ny, nx, p)
            anchor_px = (self.anchors[i] * self.stride[i]).view(1, self.na, 1, 1, 2).to(p.dtype)
            s = p.sigmoid()
            xy = (s[..., :2] * 2 - 0.5 + grid) * self.stride[i].to(p.dtype)
            wh = (s[..., 2:4] * 2) ** 2 * anchor_px
            scores = s[..., 4:5] * s[..., 5:]
            levels.append(torch.cat((xy, wh, scores), -1).reshape(b, -1, 4 + self.nc))
        return torch.cat(levels, 1).transpose(1, 2)

    def grid(self, i: int, ny: int, nx: int, like: torch.Tensor) -> torch.Tensor:
        """Return the (1, 1, ny, nx, 2) cell offsets (x, y) of level ``i``, cached per shape, device and dtype.

        Not cached while exporting: a traced graph must compute it from the input's shape (dynamic axes).
        """
        key = (i, ny, nx, like.device, like.dtype)
        if key in self._grids and not self.exporting():
            return self._grids[key]
        gy = torch.arange(ny, device=like.device, dtype=like.dtype)
        gx = torch.arange(nx, device=like.device, dtype=like.dtype)
        yv, xv = torch.meshgrid(gy, gx, indexing="ij")
        grid = torch.stack((xv, yv), -1).view(1, 1, ny, nx, 2)
        if not self.exporting():
            self._grids[key] = grid
        return grid

    @torch.no_grad()
    def initialize_biases(self, cf: torch.Tensor | None = None) -> None:
        """Add YOLOv5's prior to the conv biases (Focal Loss, Lin et al. 2017, section 3.3); needs :attr:`stride`.

        Objectness: log(8 / (640 / s)²), about 8 objects per 640-px image spread over the (640 / s)² cells of a level.
        Classes: log(0.6 / (nc − 0.99)), or log(cf / Σcf) for class frequencies ``cf``.
        """
        for conv, s in zip(self.m, self.stride.tolist()):
            b = conv.bias.view(self.na, self.no)
            b[:, 4] += math.log(8 / (640 / s) ** 2)
            b[:, 5:] += math.log(0.6 / (self.nc - 0.99)) if cf is None else torch.log(cf / cf.sum()).to(b)

    def __getstate__(self) -> dict:
        """Return the state to pickle without the grid cache (checkpoints, deepcopies and EMA copies rebuild it)."""
        return {**super().__getstate__(), "_grids": {}}


@torch.no_grad()
def check_anchor_order(head: AnchorDetect) -> bool:
    """Flip ``head.anchors`` level order if mean anchor area does not grow with stride; return True if flipped.

    YOLOv5's check: the largest anchors must sit on the coarsest level (a YAML listing P5's anchors first would
    otherwise give small objects huge anchors). The model calls it in pixels, before dividing by stride, as YOLOv5.
    """
    area = head.anchors.prod(-1).mean(-1).view(-1)
    da, ds = area[-1] - area[0], head.stride[-1] - head.stride[0]
    if da and da.sign() != ds.sign():
        head.anchors[:] = head.anchors.flip(0)
        return True
    return False
