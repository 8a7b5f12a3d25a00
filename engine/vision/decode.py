"""Boxes from a CenterNet-style detector's maps, inside the model's export path.

:class:`Decoder` turns the maps [B, K + 4, h, w] into a fixed number of boxes per image:
peaks of the class heatmaps (cells equal to their 3x3 max-pool), the best ``max_detections``
peaks over all classes, boxes from their size and offset, then class-aware greedy
non-maximum suppression. Peaks and their order are found on the heatmap logits, and the
sigmoid is taken only of the chosen peaks' scores: sigmoid is monotonic, so the result is
the same, but which cells are peaks then depends on the maps alone, not on how a runtime
rounds its sigmoid (two neighbouring cells 1e-8 apart would otherwise be a peak in one
runtime and not in another). That is what lets the ONNX export's check decode
onnxruntime's own maps with this decoder and require the very boxes onnxruntime returns. Everything is tensor operations with shapes fixed by the input's
shape and no torchvision, so the same code runs in training's evaluation, in the generated
model.py (which copies this file's functions: torch only) and in torch.export. LayerForge's
ONNX export swaps the suppression for ONNX's own NonMaxSuppression operator
(engine.vision.onnx_nms), which keeps the same boxes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box in ``a`` [B, N, 4] with every box in ``b`` [B, M, 4] -> [B, N, M]."""
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[..., :, None] + area_b[..., None, :] - inter
    return inter / union.clamp(min=1e-9)


def greedy_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
               iou: float) -> torch.Tensor:
    """Which boxes greedy class-aware NMS keeps, as a float mask [B, N] (1 kept).

    ``scores`` must be sorted high to low along N; boxes scoring 0 are never kept. A box is
    kept when no kept box before it (scoring higher) of its class overlaps it by more than
    ``iou``. The greedy rule is sequential, but box i depends only on boxes before it; so
    starting from "keep all" and applying the rule to every box at once reaches the greedy
    result (after t rounds the first t + 1 boxes are final), and that result is the only
    mask the rule leaves unchanged. Run eagerly, the rounds stop as soon as nothing changes
    (a few rounds: as many as the longest chain of boxes suppressing each other); traced
    (torch.export), there is no branch on values, so all N - 1 rounds are recorded.
    """
    n = boxes.shape[1]
    order = torch.arange(n, device=boxes.device)
    earlier = order[None, :, None] > order[None, None, :]  # [1, i, j]: j scored higher than i
    same = labels[:, :, None] == labels[:, None, :]
    overlap = ((box_iou(boxes, boxes) > iou) & same & earlier).float()
    live = (scores > 0).float().unsqueeze(-1)  # [B, N, 1]
    traced = torch.jit.is_tracing() or torch.compiler.is_compiling()
    keep = live
    for _ in range(n - 1):
        # live minus the number of kept boxes that suppress it, floored at 0: 1 or 0 (few
        # operations per round, as each round is unrolled in a traced graph)
        new = (live - torch.bmm(overlap, keep)).clamp(min=0)
        if not traced and torch.equal(new, keep):
            break
        keep = new
    return keep.squeeze(-1)


class Decoder(nn.Module):
    """Maps [B, num_classes + 4, h, w] -> (boxes [B, D, 4] in input pixels, scores [B, D],
    labels [B, D] long), D = ``max_detections``, best first. Slots without a box (below
    ``min_score``, suppressed, or fewer peaks than D) have score 0, box 0 and label 0."""

    def __init__(self, num_classes: int, stride: int, max_detections: int = 100,
                 min_score: float = 0.01, nms_iou: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stride = stride
        self.max_detections = max_detections
        self.min_score = min_score
        self.nms_iou = nms_iou

    def forward(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        k, d = self.num_classes, self.max_detections
        b, _, h, w = maps.shape
        maps = maps.float()
        logits = maps[:, :k]
        peak = F.max_pool2d(logits, 3, stride=1, padding=1) == logits
        # not a peak: -inf, whose sigmoid is 0 (below any min_score)
        peaks = logits.masked_fill(~peak, float("-inf"))
        top = min(d, k * h * w)  # from shapes: a constant in the exported graph
        best, flat = peaks.reshape(b, -1).topk(top, dim=1)
        scores = best.sigmoid()
        labels = flat // (h * w)
        cell = flat % (h * w)
        rest = maps[:, k:k + 4].reshape(b, 4, h * w)
        size_off = rest.gather(2, cell.unsqueeze(1).expand(b, 4, top))  # [B, 4, top]
        cx = ((cell % w).float() + size_off[:, 2]) * self.stride
        cy = ((cell // w).float() + size_off[:, 3]) * self.stride
        half_w = size_off[:, 0].clamp(min=0) * self.stride / 2
        half_h = size_off[:, 1].clamp(min=0) * self.stride / 2
        boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)
        scores = scores * (scores >= self.min_score).float()
        keep = self.suppress(boxes, scores, labels)
        scores, order = (scores * keep).topk(top, dim=1)  # kept boxes first, still by score
        labels = labels.gather(1, order)
        boxes = boxes.gather(1, order.unsqueeze(-1).expand(b, top, 4))
        found = (scores > 0)
        boxes = boxes * found.unsqueeze(-1).float()
        labels = labels * found.long()
        if top < d:  # fewer cells than detections: pad the empty slots
            boxes = F.pad(boxes, (0, 0, 0, d - top))
            scores = F.pad(scores, (0, d - top))
            labels = F.pad(labels, (0, d - top))
        return boxes, scores, labels

    def suppress(self, boxes: torch.Tensor, scores: torch.Tensor,
                 labels: torch.Tensor) -> torch.Tensor:
        """The keep mask [B, N] of class-aware greedy NMS over candidates sorted by score."""
        return greedy_nms(boxes, scores, labels, self.nms_iou)


class DetectorWithDecoder(nn.Module):
    """A detector and its decoder as one module: images in, (boxes, scores, labels, maps)
    out, ``maps`` being the network's own output [B, K + 4, h, w] before decoding (for
    users who decode themselves, and for the ONNX export's check of the network alone).
    Export uses it so that the exported model returns boxes, not only maps."""

    def __init__(self, model: nn.Module, decoder: Decoder) -> None:
        super().__init__()
        self.model = model
        self.decoder = decoder

    def forward(self, x: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        maps = self.model(x)
        return (*self.decoder(maps), maps)
