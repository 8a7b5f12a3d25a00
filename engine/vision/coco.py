"""COCO detection metrics through faster-coco-eval (its COCOeval mirrors pycocotools'):
mAP@[.5:.95], mAP@.5, mAP@.75, AP per class and precision-recall curves at IoU 0.5.

Boxes arrive as (x0, y0, x1, y1) in pixels; COCO wants (x, y, w, h) and category ids, which
here are the class index + 1 (COCO files start at 1). Image ids are positions + 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

#: recall points of COCO's precision-recall curves (0, 0.01, ..., 1)
RECALL_POINTS = 101


def ground_truth(boxes: torch.Tensor | np.ndarray, num_classes: int,
                 image_size: tuple[int, int]) -> dict[str, Any]:
    """A COCO ground-truth dataset (a dict, as in a COCO JSON file) from ``boxes`` [N, M, 5]:
    rows (class, x0, y0, x1, y1), unused rows with class -1. ``image_size`` is (H, W)."""
    arr = boxes.detach().cpu().numpy() if isinstance(boxes, torch.Tensor) else np.asarray(boxes)
    height, width = image_size
    images = [{"id": i + 1, "width": int(width), "height": int(height)} for i in range(len(arr))]
    anns = []
    for i, rows in enumerate(arr):
        for c, x0, y0, x1, y1 in rows.tolist():
            if 0 <= c < num_classes:
                w, h = x1 - x0, y1 - y0
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                             "bbox": [x0, y0, w, h], "area": w * h, "iscrowd": 0})
    cats = [{"id": k + 1, "name": str(k)} for k in range(num_classes)]
    return {"images": images, "annotations": anns, "categories": cats}


def detections(predictions: Sequence[dict[str, list]]) -> list[dict[str, Any]]:
    """COCO results (one dict per box) from per-image ``{"boxes", "scores", "labels"}``."""
    out = []
    for i, p in enumerate(predictions):
        for (x0, y0, x1, y1), s, c in zip(p["boxes"], p["scores"], p["labels"], strict=True):
            out.append({"image_id": i + 1, "category_id": int(c) + 1,
                        "bbox": [x0, y0, x1 - x0, y1 - y0], "score": float(s)})
    return out


def _quiet(*args: Any, **kwargs: Any) -> None:
    """faster-coco-eval reports each stage through this; training has no use for it."""


def coco_metrics(truth: torch.Tensor | np.ndarray, predictions: Sequence[dict[str, list]],
                 num_classes: int, image_size: tuple[int, int]) -> dict[str, Any]:
    """``map``, ``map50``, ``map75``, ``ap_per_class``, ``ap50_per_class`` and
    ``pr_curves`` ({"recall": 101 points, "precision": one 101-point list per class, at IoU
    0.5}) for ``predictions`` (one dict per image, boxes in pixels) against ``truth``.

    A class with no box in ``truth`` has no AP: its entries are None and its curve all 0,
    and, as in COCO, it is left out of the means. With no boxes at all every figure is 0.
    """
    from faster_coco_eval import COCO, COCOeval_faster

    gt_data = ground_truth(truth, num_classes, image_size)
    recall = np.linspace(0.0, 1.0, RECALL_POINTS)
    if not gt_data["annotations"]:
        return _empty(num_classes, recall)
    gt = COCO(gt_data, print_function=_quiet)
    dt = gt.loadRes(detections(predictions))
    ev = COCOeval_faster(gt, dt, "bbox", print_function=_quiet)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    stats = [max(0.0, float(s)) for s in ev.stats[:3]]  # -1: nothing to measure
    # precision: [IoU thresholds, recall points, classes, area ranges, max detections];
    # area "all" is 0 and the last max-detections setting is 100, as the stats use
    precision = np.asarray(ev.eval["precision"])[:, :, :, 0, -1]
    present = {a["category_id"] - 1 for a in gt_data["annotations"]}
    ap, ap50, curves = [], [], []
    for k in range(num_classes):
        p = precision[:, :, k]
        if k not in present:
            ap.append(None)
            ap50.append(None)
            curves.append([0.0] * RECALL_POINTS)
            continue
        ap.append(_mean_valid(p))
        ap50.append(_mean_valid(p[0]))
        # four decimals are more than a plot shows, and keep every epoch's event small
        curves.append([round(max(0.0, float(v)), 4) for v in p[0]])
    return {"map": stats[0], "map50": stats[1], "map75": stats[2], "ap_per_class": ap,
            "ap50_per_class": ap50,
            "pr_curves": {"recall": [round(float(r), 4) for r in recall], "precision": curves}}


def _mean_valid(p: np.ndarray) -> float:
    valid = p[p > -1]
    return float(valid.mean()) if valid.size else 0.0


def _empty(num_classes: int, recall: np.ndarray) -> dict[str, Any]:
    return {"map": 0.0, "map50": 0.0, "map75": 0.0, "ap_per_class": [None] * num_classes,
            "ap50_per_class": [None] * num_classes,
            "pr_curves": {"recall": [float(r) for r in recall],
                          "precision": [[0.0] * RECALL_POINTS for _ in range(num_classes)]}}
