"""mAP as faster-coco-eval computes it for us equals pycocotools' figures, and is 1 for
perfect predictions."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from engine.vision.coco import coco_metrics, detections, ground_truth

K = 3


def fixed_set(seed=0, images=12, per_image=4):
    """Truth boxes [N, M, 5] and predictions: jittered copies of the truth (some with the
    wrong class, some missing) plus random false positives, with random scores."""
    rng = np.random.default_rng(seed)
    truth = np.full((images, per_image, 5), -1.0, dtype=np.float32)
    preds = []
    for i in range(images):
        n = int(rng.integers(1, per_image + 1))
        boxes, scores, labels = [], [], []
        for m in range(n):
            x0, y0 = rng.uniform(0, 40, 2)
            w, h = rng.uniform(6, 24, 2)
            c = int(rng.integers(0, K))
            truth[i, m] = [c, x0, y0, x0 + w, y0 + h]
            if rng.random() < 0.85:  # found, more or less well
                j = rng.normal(0, 2.0, 4)
                boxes.append([x0 + j[0], y0 + j[1], x0 + w + j[2], y0 + h + j[3]])
                scores.append(float(rng.uniform(0.2, 1.0)))
                labels.append(c if rng.random() < 0.9 else (c + 1) % K)
        for _ in range(int(rng.integers(0, 3))):  # false positives
            x0, y0 = rng.uniform(0, 50, 2)
            boxes.append([x0, y0, x0 + 10, y0 + 10])
            scores.append(float(rng.uniform(0.0, 0.6)))
            labels.append(int(rng.integers(0, K)))
        preds.append({"boxes": boxes, "scores": scores, "labels": labels})
    return torch.from_numpy(truth), preds


def pycocotools_figures(truth, preds):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = ground_truth(truth, K, (64, 64))
        gt.createIndex()
        dt = gt.loadRes(detections(preds))
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    p = ev.eval["precision"][:, :, :, 0, -1]
    per_class = [float(p[:, :, k][p[:, :, k] > -1].mean()) for k in range(K)]
    return list(ev.stats[:3]), per_class, p[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_figures_equal_pycocotools(seed):
    truth, preds = fixed_set(seed)
    ours = coco_metrics(truth, preds, K, (64, 64))
    stats, per_class, pr50 = pycocotools_figures(truth, preds)
    assert 0.2 < ours["map50"] < 0.99  # a set that tells right from wrong
    assert [ours["map"], ours["map50"], ours["map75"]] == pytest.approx(stats, abs=1e-9)
    assert ours["ap_per_class"] == pytest.approx(per_class, abs=1e-9)
    for k in range(K):
        # kept to four decimals
        assert ours["pr_curves"]["precision"][k] == pytest.approx(
            np.maximum(pr50[:, k], 0).tolist(), abs=5e-5)


def test_perfect_predictions_score_one():
    truth, _ = fixed_set(3)
    perfect = []
    for rows in truth.tolist():
        real = [r for r in rows if r[0] >= 0]
        perfect.append({"boxes": [r[1:] for r in real], "scores": [0.9] * len(real),
                        "labels": [int(r[0]) for r in real]})
    m = coco_metrics(truth, perfect, K, (64, 64))
    assert m["map"] == m["map50"] == m["map75"] == 1.0
    assert m["ap_per_class"] == [1.0] * K
    assert m["pr_curves"]["precision"][0] == [1.0] * 101


def test_no_predictions_score_zero_and_an_absent_class_has_no_ap():
    truth = torch.tensor([[[0, 1, 1, 11, 11]]], dtype=torch.float32)
    m = coco_metrics(truth, [{"boxes": [], "scores": [], "labels": []}], K, (64, 64))
    assert m["map"] == m["map50"] == 0.0
    assert m["ap_per_class"] == [0.0, None, None]


def test_wrong_class_is_a_miss():
    truth = torch.tensor([[[0, 1, 1, 11, 11]]], dtype=torch.float32)
    wrong = [{"boxes": [[1, 1, 11, 11]], "scores": [0.9], "labels": [1]}]
    assert coco_metrics(truth, wrong, K, (64, 64))["map50"] == 0.0


def test_evaluation_prints_nothing(capsys):
    truth, preds = fixed_set(0)
    coco_metrics(truth, preds, K, (64, 64))
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
