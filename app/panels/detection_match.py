"""Which predicted boxes are true positives, false positives, and which true boxes were
missed, at any confidence threshold: the detection gallery redraws as the user slides the
threshold, so the counts must come back at once.

Matching is the usual greedy one: per image, predictions in descending score order each
take the unmatched true box of the same class with the highest IoU, if that IoU is at least
``MATCH_IOU``; a prediction that finds none is a false positive; true boxes left unmatched
are misses. A prediction's outcome depends only on the predictions scored above it, so
matching once with every prediction gives the matching at any threshold: the predictions
kept at threshold ``t`` are a prefix of the score order, and so are their outcomes.
:class:`Matches` holds that one matching as flat arrays; ``counts(t)`` is a few numpy
reductions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MATCH_IOU = 0.5


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` [P, 4] against every box of ``b`` [T, 4] (x0, y0, x1, y1)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_image(true: np.ndarray, boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                iou: float = MATCH_IOU) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching of one image. ``true`` [T, 5] rows (class, x0, y0, x1, y1);
    predictions ``boxes`` [P, 4], ``scores`` [P], ``labels`` [P]. Returns, per prediction in
    the given order, whether it is a true positive and the true box it matched (-1)."""
    tp = np.zeros(len(boxes), dtype=bool)
    matched = np.full(len(boxes), -1, dtype=np.int64)
    if not len(boxes) or not len(true):
        return tp, matched
    overlap = iou_matrix(boxes, true[:, 1:5])
    overlap[labels[:, None] != true[None, :, 0].astype(np.int64)] = -1.0  # same class only
    taken = np.zeros(len(true), dtype=bool)
    for p in np.argsort(-scores, kind="stable"):
        row = np.where(taken, -1.0, overlap[p])
        t = int(np.argmax(row))
        if row[t] >= iou:
            taken[t] = True
            tp[p], matched[p] = True, t
    return tp, matched


def true_boxes(y: Any) -> np.ndarray:
    """The real rows of one image's padded target [M, 5] (rows of class -1 dropped)."""
    a = np.asarray(y, dtype=np.float32).reshape(-1, 5)
    return a[a[:, 0] >= 0]


def prediction_arrays(pred: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A prediction dict's ``boxes`` [P, 4], ``scores`` [P] and ``labels`` [P] as arrays."""
    boxes = np.asarray(pred.get("boxes", []), dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(pred.get("scores", []), dtype=np.float32).reshape(-1)
    labels = np.asarray(pred.get("labels", []), dtype=np.int64).reshape(-1)
    return boxes, scores, labels


@dataclass
class Matches:
    """The matching of every image of a split, as flat arrays over all predictions:
    ``image`` (its image), ``score``, ``tp`` (a true positive when kept), ``truth`` (the true
    box it matched, -1); and ``n_true`` per image."""

    image: np.ndarray
    score: np.ndarray
    tp: np.ndarray
    truth: np.ndarray
    n_true: np.ndarray

    @classmethod
    def of(cls, true: list[Any], pred: list[dict[str, Any]], iou: float = MATCH_IOU) -> Matches:
        """Match each image's predictions (dicts of boxes, scores, labels) with its true
        boxes (rows class, x0, y0, x1, y1; padding rows of class -1 are ignored)."""
        parts: list[tuple[np.ndarray, ...]] = []
        n_true = np.zeros(len(true), dtype=np.int64)
        for i, (y, p) in enumerate(zip(true, pred, strict=False)):
            t = true_boxes(y)
            n_true[i] = len(t)
            boxes, scores, labels = prediction_arrays(p)
            tp, matched = match_image(t, boxes, scores, labels, iou)
            parts.append((np.full(len(boxes), i, dtype=np.int64), scores, tp, matched))
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, bool),
                       np.zeros(0, np.int64), n_true)
        image, score, tp, truth = (np.concatenate(col) for col in zip(*parts, strict=True))
        return cls(image, score, tp, truth, n_true)

    def counts(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per image: true positives, false positives and misses among the predictions
        scored at least ``threshold``."""
        n = len(self.n_true)
        kept = self.score >= threshold
        tp = np.bincount(self.image[kept & self.tp], minlength=n)
        fp = np.bincount(self.image[kept & ~self.tp], minlength=n)
        return tp, fp, self.n_true - tp

    def outcome(self, image: int, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For one image at ``threshold``: per prediction of the image (its given order)
        whether it is a kept true positive, whether a kept false positive; per true box
        whether it was found."""
        a, b = np.searchsorted(self.image, (image, image + 1))  # images come in order
        kept = self.score[a:b] >= threshold
        tp = kept & self.tp[a:b]
        found = np.zeros(int(self.n_true[image]), dtype=bool)
        found[self.truth[a:b][tp]] = True
        return tp, kept & ~self.tp[a:b], found
