"""Hand-made segmentation and detection evaluations, with the outcomes a user should see
worked out by hand (the panel tests and the screenshot script use them)."""

from __future__ import annotations

import numpy as np

from app.panels.run_results import Evaluation

SEG_CLASSES = ["background", "circle", "square"]
DET_CLASSES = ["circle", "square", "triangle"]


def segmentation_evaluation(size: int = 16) -> Evaluation:
    """Four images; image IoUs 0.9, 0.2, none (NaN), 0.5: worst first is 1, 3, 0, 2. The
    true mask of image 0 has an ignored (255) pixel."""
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(4)]
    true, pred = [], []
    for i in range(4):
        t = np.zeros((size, size), np.uint8)
        t[2:8, 2:8] = 1
        t[9:14, 9:14] = 2
        p = t.copy()
        p[2:8, 2:2 + i] = 0  # image i loses i columns of its circle: "circle as background"
        true.append(t)
        pred.append(p)
    true[0][0, 0] = 255
    cm = [[400, 0, 0], [30, 110, 0], [0, 0, 100]]
    metrics = {"loss": 0.3, "miou": 0.75, "pixel_accuracy": 0.95, "mean_dice": 0.84,
               "iou_per_class": [0.93, 0.786, float("nan")], "dice_per_class": [0.96, 0.88, None],
               "confusion_matrix": cm, "classes": SEG_CLASSES}
    return Evaluation("run-seg", "val", "segmentation", metrics, classes=list(SEG_CLASSES),
                      true=true, pred=pred, images=images, image_scores=[0.9, 0.2, float("nan"),
                                                                         0.5],
                      describe="4 images")


def _dets(*rows: tuple[int, float, tuple[float, float, float, float]]) -> dict:
    return {"labels": [r[0] for r in rows], "scores": [r[1] for r in rows],
            "boxes": [list(r[2]) for r in rows]}


def _truth(*rows: tuple[int, float, float, float, float], m: int = 3) -> np.ndarray:
    """Rows (class, x0, y0, x1, y1), padded to ``m`` rows of -1 like a split's targets."""
    out = np.full((m, 5), -1.0, np.float32)
    for i, r in enumerate(rows):
        out[i] = r
    return out


def detection_evaluation() -> Evaluation:
    """Four 64x64 images. Outcomes (true positives, false positives, misses) per image:

    - at threshold 0.3: (2, 2, 0), (1, 2, 0), (0, 1, 2), (0, 1, 0): totals 3, 6, 2;
      most errors first: 2, 0, 1, 3 (0 and 1 tie at 2 errors: split order).
    - at threshold 0.7: (1, 0, 1), (1, 2, 0), (0, 1, 2), (0, 0, 0): totals 2, 3, 3;
      most errors first: 2, 1, 0, 3.
    """
    true = [
        _truth((0, 0, 0, 10, 10), (1, 20, 20, 30, 30)),
        _truth((0, 5, 5, 15, 15)),
        _truth((1, 0, 0, 20, 20), (0, 30, 30, 40, 40)),
        _truth(),
    ]
    pred = [
        _dets((0, 0.9, (0, 0, 10, 10)), (1, 0.5, (20, 20, 30, 30)), (0, 0.4, (40, 40, 50, 50)),
              (1, 0.32, (50, 0, 60, 10))),
        # a right box of the wrong class, then the right one, then a duplicate (IoU 0.81)
        _dets((1, 0.95, (5, 5, 15, 15)), (0, 0.8, (5, 5, 15, 15)), (0, 0.75, (6, 6, 15, 15))),
        _dets((1, 0.9, (0, 0, 12, 12))),  # IoU 0.36 with its square: too little
        _dets((0, 0.35, (1, 1, 9, 9)), (2, 0.2, (30, 30, 40, 40))),
    ]
    recall = np.linspace(0, 1, 101)
    precision = [np.clip(1.0 - 0.5 * recall, 0, 1).tolist(),
                 np.where(recall <= 0.6, 0.8, 0.0).tolist(),
                 [-1.0] * 101]  # no triangle in the split: no curve
    metrics = {"loss": 1.2, "loss_heatmap": 0.8, "loss_size": 0.3, "loss_offset": 0.1,
               "map": 0.41, "map50": 0.62, "map75": 0.38,
               "ap_per_class": [0.5, 0.32, -1.0], "ap50_per_class": [0.75, 0.49, float("nan")],
               "pr_curves": {"recall": recall.tolist(), "precision": precision},
               "classes": DET_CLASSES}
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(4)]
    return Evaluation("run-det", "val", "detection", metrics, classes=list(DET_CLASSES),
                      true=true, pred=pred, images=images, describe="4 images")
