"""The import summary of a segmentation or detection set, as plain JSON values.

Detection: images, classes, boxes per class, images without boxes, a histogram of box
sizes (the square root of a box's area, in model-input pixels), skipped entries and the
first problems. Segmentation: the same counts with the fraction of labelled pixels per
class instead of the box figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from engine.data.annotations.records import IGNORE

#: box-size histogram edges (px): a 1-1.5-2 progression, doubling past the last one
_EDGES = [0, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]


def summarize_targets(y: torch.Tensor, target: str, classes: Sequence[str] | None,
                      skipped: int = 0, problems: Sequence[str] = ()) -> dict[str, Any]:
    """The summary of loaded targets ``y``: masks [N, H, W] (``target="mask"``) or boxes
    [N, M, 5] with unused rows -1 (``target="boxes"``)."""
    names = list(classes or [])
    if target == "mask":
        flat = y.reshape(-1)
        if flat.numel() and (int(flat.min()) < 0 or int(flat.max()) > IGNORE):
            flat = flat[(flat >= 0) & (flat <= IGNORE)]
        counts = torch.bincount(flat, minlength=IGNORE + 1).numpy()  # one pass, no copy
        return mask_summary(counts[: len(names)], int(counts[IGNORE]), int(y.shape[0]), names,
                            skipped, problems)
    rows = y.numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    return box_summary([r[r[:, 0] >= 0] for r in rows], names, skipped, problems)


def mask_summary(counts: np.ndarray, ignored: int, images: int, classes: list[str],
                 skipped: int = 0, problems: Sequence[str] = ()) -> dict[str, Any]:
    """``counts``: labelled pixels per class value; ``ignored``: pixels of value 255."""
    total = int(counts.sum())
    pixels = total + ignored
    return {
        "images": images,
        "classes": classes,
        "pixels_per_class": [float(c) / total if total else 0.0 for c in counts[: len(classes)]],
        "ignored_pixels": ignored / pixels if pixels else 0.0,
        "skipped": int(skipped),
        "problems": list(problems),
    }


def box_summary(per_image: list[np.ndarray], classes: list[str], skipped: int = 0,
                problems: Sequence[str] = ()) -> dict[str, Any]:
    """``per_image``: each image's boxes as [m, 5] rows (class, x0, y0, x1, y1)."""
    rows = np.concatenate(per_image) if per_image else np.zeros((0, 5), np.float32)
    counts = np.bincount(rows[:, 0].astype(np.int64), minlength=len(classes))
    sizes = np.sqrt(np.clip(rows[:, 3] - rows[:, 1], 0, None) * np.clip(rows[:, 4] - rows[:, 2], 0, None))
    edges = _edges(float(sizes.max()) if len(sizes) else 0.0)
    hist, _ = np.histogram(sizes, bins=edges)
    return {
        "images": len(per_image),
        "classes": classes,
        "boxes_per_class": [int(c) for c in counts[: len(classes)]],
        "images_without_boxes": sum(1 for r in per_image if len(r) == 0),
        "box_sizes": {"edges": [float(e) for e in edges], "counts": [int(c) for c in hist]},
        "skipped": int(skipped),
        "problems": list(problems),
    }


def _edges(largest: float) -> list[float]:
    """Histogram edges from 0 up to the first edge at or past ``largest``."""
    edges = list(_EDGES)
    while edges[-1] < largest:
        edges.append(edges[-1] * 2)
    end = next(i for i, e in enumerate(edges) if e >= largest and i > 0)
    return [float(e) for e in edges[: end + 1]]
