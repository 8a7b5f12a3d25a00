"""The detector's non-maximum suppression as ONNX's own NonMaxSuppression operator.

Traced, :func:`engine.vision.decode.greedy_nms` unrolls one round per candidate: at the
default 100 detections that made an ONNX export take tens of seconds and weigh ~600 KB.
Here the suppression is a PyTorch custom operator, ``layerforge::nms``, whose meaning is
ONNX's NonMaxSuppression (opset 11 and later) returned as a keep mask; the ONNX exporter
writes it as that one node (:func:`onnx_translations`, given to ``torch.onnx.export``).
:class:`ExportDecoder` uses it only while torch.onnx exports, so PyTorch evaluation, pt2
and the generated model.py (plain :class:`~engine.vision.decode.Decoder`) never see it.

Why the two agree: ONNX's operator keeps, per batch and class, boxes in descending score
order, suppressing a box whose IoU with a kept one is strictly greater than the
threshold, and takes only boxes scoring above ``score_threshold`` (0). The decoder gives
it, for each class, the rank score ``N - i`` to candidate i of that class and 0 elsewhere:
distinct scores in the decoder's own order, so no tie is left to the runtime's choice, and
suppression stays within a class. That is :func:`~engine.vision.decode.greedy_nms`'s rule.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from engine.vision.decode import Decoder, greedy_nms


@torch.library.custom_op("layerforge::nms", mutates_args=())
def nms(boxes: torch.Tensor, scores: torch.Tensor, iou: float) -> torch.Tensor:
    """ONNX NonMaxSuppression as a keep mask: ``boxes`` [B, N, 4] (two opposite corners),
    ``scores`` [B, C, N] per class; a box is kept (1.0 in the float mask [B, N]) when, in
    some class, it scores above 0 and no kept box scoring higher in that class (the lower
    index first among equal scores) overlaps it by IoU more than ``iou``."""
    b, c, n = scores.shape
    keep = torch.zeros(b, n, device=scores.device)
    no_class = torch.zeros(b, n, dtype=torch.long, device=scores.device)
    for k in range(c):
        ranked, order = scores[:, k].sort(dim=1, descending=True, stable=True)
        sorted_boxes = boxes.gather(1, order.unsqueeze(-1).expand(b, n, 4))
        kept = greedy_nms(sorted_boxes, ranked, no_class, iou)
        keep = torch.maximum(keep, torch.zeros_like(keep).scatter(1, order, kept))
    return keep


@nms.register_fake
def _nms_shape(boxes: torch.Tensor, scores: torch.Tensor, iou: float) -> torch.Tensor:
    return scores.new_empty(boxes.shape[:2])


def _nms_to_onnx(boxes, scores, iou: float):
    """``layerforge::nms`` in ONNX: NonMaxSuppression's selected (batch, class, box) rows
    scattered as ones into a [B, N] mask of zeros."""
    from onnxscript import opset18 as op

    shape = op.Shape(scores)  # [B, C, N]
    most = op.Gather(shape, op.Constant(value_ints=[2]), axis=0)  # up to N boxes per class
    selected = op.NonMaxSuppression(boxes, scores, most, op.Constant(value_floats=[iou]),
                                    op.Constant(value_floats=[0.0]), center_point_box=0)
    where = op.Gather(selected, op.Constant(value_ints=[0, 2]), axis=1)  # (batch, box)
    zeros = op.ConstantOfShape(op.Gather(shape, op.Constant(value_ints=[0, 2]), axis=0))
    ones = op.Expand(op.Constant(value_floats=[1.0]), op.Shape(selected, start=0, end=1))
    return op.ScatterND(op.CastLike(zeros, scores), where, op.CastLike(ones, scores))


def onnx_translations() -> dict[Callable, Callable]:
    """The ``custom_translation_table`` of ``torch.onnx.export`` for a detector."""
    return {torch.ops.layerforge.nms.default: _nms_to_onnx}


class ExportDecoder(Decoder):
    """:class:`~engine.vision.decode.Decoder` whose suppression is ONNX's NonMaxSuppression
    while torch.onnx exports it (same boxes kept; see the module's docstring), and the
    decoder's own greedy NMS otherwise."""

    def suppress(self, boxes: torch.Tensor, scores: torch.Tensor,
                 labels: torch.Tensor) -> torch.Tensor:
        if not torch.onnx.is_in_onnx_export():
            return super().suppress(boxes, scores, labels)
        n = scores.shape[1]
        rank = torch.arange(n, 0, -1, device=scores.device).float() * (scores > 0).float()
        classes = torch.arange(self.num_classes, device=labels.device)
        per_class = (labels[:, None, :] == classes[None, :, None]).float() * rank[:, None, :]
        return nms(boxes, per_class, self.nms_iou)
