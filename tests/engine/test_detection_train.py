"""Detection end to end: CenterNet targets, decoding with NMS, and a tiny detector trained
through the real loop on builtin:shapes_det."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from engine.project import DatasetSpec, Edge, Graph, Node, Project, TaskSpec, TrainingConfig
from engine.vision.centernet import build_targets, centernet_loss
from engine.vision.decode import Decoder, box_iou, greedy_nms

# -- targets -------------------------------------------------------------------------------


def test_targets_peak_at_the_box_centre_with_size_and_offset_in_cells():
    # one class-1 box 32 x 24 px centred at (34, 21) px: cell (8, 5) at stride 4, offset
    # (0.5, 0.25), size 8 x 6 cells
    boxes = torch.tensor([[[1, 18, 9, 50, 33], [-1, -1, -1, -1, -1]]], dtype=torch.float32)
    t = build_targets(boxes, num_classes=3, height=16, width=16, stride=4)
    heat = t.heatmap[0]
    assert heat.shape == (3, 16, 16)
    assert heat[1, 5, 8] == 1 and int((heat == 1).sum()) == 1
    assert heat[0].sum() == 0 and heat[2].sum() == 0  # other classes stay empty
    assert 0 < heat[1, 5, 7] < 1 and heat[1, 5, 7] == heat[1, 5, 9]  # a Gaussian around it
    assert heat[1, 0, 0] == 0  # and nothing far away
    assert t.valid.tolist() == [[True, False]]
    assert t.index[0, 0] == 5 * 16 + 8
    assert t.size[0, 0].tolist() == [8.0, 6.0]
    assert t.offset[0, 0].tolist() == [0.5, 0.25]


def test_loss_is_low_for_maps_that_match_the_targets_and_high_for_a_blank_guess():
    boxes = torch.tensor([[[0, 4, 4, 20, 20], [2, 30, 8, 46, 40]]], dtype=torch.float32)
    t = build_targets(boxes, 3, 16, 16, 4)
    good = torch.zeros(1, 7, 16, 16)
    good[:, :3] = torch.logit(t.heatmap.clamp(1e-4, 1 - 1e-4))
    for m in range(2):
        cell = int(t.index[0, m])
        good[0, 3:5].view(2, -1)[:, cell] = t.size[0, m]
        good[0, 5:7].view(2, -1)[:, cell] = t.offset[0, m]
    low = centernet_loss(good, boxes, 3, 4, 0.1)
    high = centernet_loss(torch.zeros(1, 7, 16, 16), boxes, 3, 4, 0.1)
    assert low["loss_size"] == 0 and low["loss_offset"] == 0
    assert low["loss"] < 0.1 < high["loss"]
    assert high["loss"] == pytest.approx(float(high["loss_heatmap"] + 0.1 * high["loss_size"]
                                               + high["loss_offset"]))


# -- decoding ------------------------------------------------------------------------------


def _maps(peaks, k=3, h=8, w=8):
    """Maps with a peak per (class, row, col, score, (w, h) cells, (ox, oy)); else -10."""
    maps = torch.full((1, k + 4, h, w), -10.0)
    maps[:, k:] = 0
    for c, row, col, score, size, off in peaks:
        maps[0, c, row, col] = torch.logit(torch.tensor(score))
        maps[0, k:k + 2, row, col] = torch.tensor(size)
        maps[0, k + 2:k + 4, row, col] = torch.tensor(off)
    return maps


def test_decoder_turns_peaks_into_boxes_in_pixels_best_first():
    maps = _maps([(2, 3, 5, 0.6, (4.0, 3.0), (0.5, 0.25)), (0, 1, 1, 0.9, (2.0, 2.0), (0.0, 0.0))])
    boxes, scores, labels = Decoder(3, stride=4, max_detections=5)(maps)
    assert boxes.shape == (1, 5, 4) and scores.shape == (1, 5) and labels.dtype == torch.long
    assert scores[0, :2].tolist() == pytest.approx([0.9, 0.6])
    assert labels[0, :2].tolist() == [0, 2]
    assert boxes[0, 0].tolist() == pytest.approx([0, 0, 8, 8])
    assert boxes[0, 1].tolist() == pytest.approx([14, 7, 30, 19])
    assert scores[0, 2:].tolist() == [0, 0, 0] and boxes[0, 2:].abs().sum() == 0  # empty slots


def test_nms_removes_a_duplicate_of_the_same_class_and_keeps_another_class():
    big = (6.0, 6.0)  # 24 px boxes two cells (8 px) apart overlap with IoU 0.5: not peaks
    dup = (6.0, 5.5)  # of each other (3x3 max-pool), so only NMS can remove one
    maps = _maps([(1, 4, 2, 0.9, big, (0, 0)), (1, 4, 4, 0.8, dup, (0, 0)),
                  (0, 4, 4, 0.7, big, (0, 0))])
    boxes, scores, labels = Decoder(3, stride=4, max_detections=4, nms_iou=0.3)(maps)
    kept = [(int(c), round(float(s), 3)) for c, s in zip(labels[0], scores[0], strict=True) if s > 0]
    assert kept == [(1, 0.9), (0, 0.7)]


def test_min_score_drops_weak_peaks():
    maps = _maps([(0, 2, 2, 0.9, (2.0, 2.0), (0, 0)), (1, 5, 5, 0.05, (2.0, 2.0), (0, 0))])
    _, scores, _ = Decoder(3, stride=4, max_detections=3, min_score=0.1)(maps)
    assert int((scores > 0).sum()) == 1


def _reference_nms(boxes, scores, labels, iou):
    keep = []
    for i in range(len(scores)):
        if scores[i] <= 0:
            continue
        if all(labels[j] != labels[i] or box_iou(boxes[None, i:i + 1], boxes[None, j:j + 1])
               [0, 0, 0] <= iou for j in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", range(5))
def test_tensor_nms_equals_plain_greedy_nms(seed):
    rng = random.Random(seed)
    n = 40
    xy = torch.tensor([[rng.uniform(0, 40), rng.uniform(0, 40)] for _ in range(n)])
    wh = torch.tensor([[rng.uniform(5, 25), rng.uniform(5, 25)] for _ in range(n)])
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.tensor(sorted((rng.random() for _ in range(n)), reverse=True))
    labels = torch.tensor([rng.randrange(2) for _ in range(n)])
    keep = greedy_nms(boxes[None], scores[None], labels[None], 0.3)[0]
    assert torch.nonzero(keep).flatten().tolist() == _reference_nms(boxes, scores, labels, 0.3)


def test_nms_keeps_a_box_whose_only_suppressor_was_suppressed():
    # A overlaps B, B overlaps C (IoU 0.6 each), A and C by 1/3 only: greedy keeps A and C;
    # the eager rounds must not stop before C comes back
    boxes = torch.tensor([[[0.0, 0, 10, 10], [2.5, 0, 12.5, 10], [5.0, 0, 15, 10]]])
    keep = greedy_nms(boxes, torch.tensor([[0.9, 0.8, 0.7]]), torch.zeros(1, 3, dtype=torch.long),
                      0.5)
    assert keep.tolist() == [[1.0, 0.0, 1.0]]


# -- training through the real loop ------------------------------------------------------


def tiny_detector(samples=96, epochs=3) -> Project:
    """A two-convolution detector (stride 4) on 32x32 shapes_det scenes."""
    chain = [Node(id="image", type="Input", params={"shape": [3, 32, 32]}),
             Node(id="c1", type="Conv2d", params={"out_channels": 8, "stride": 2}),
             Node(id="r1", type="ReLU"),
             Node(id="c2", type="Conv2d", params={"out_channels": 16, "stride": 2}),
             Node(id="r2", type="ReLU"),
             Node(id="head", type="DetectionHead", params={"classes": 6, "width": 8}),
             Node(id="maps", type="Output")]
    edges = [Edge(src=a.id, dst=b.id) for a, b in itertools.pairwise(chain)]
    return Project(
        name="tiny detector", graphs={"model": Graph(nodes=chain, edges=edges)},
        dataset=DatasetSpec(source="builtin", name="shapes_det", image_size=32,
                            samples=samples, val_fraction=0.25, augment_flip=True),
        task=TaskSpec(kind="detection", max_detections=20),
        training=TrainingConfig(batch_size=16, epochs=epochs, lr=3e-3, threads=1, device="cpu",
                                monitor="val_map50"))


def test_a_tiny_detector_trains_and_reports_its_figures(tmp_path):
    from engine.train import train

    events = list(train(tiny_detector(), tmp_path / "run"))
    kinds = [type(e).__name__ for e in events]
    assert kinds[-1] == "Finished", [getattr(e, "message", "") for e in events]
    ends = [e for e in events if type(e).__name__ == "EpochEnded"]
    assert len(ends) == 3
    assert {"loss", "loss_heatmap", "loss_size", "loss_offset"} <= set(ends[0].train)
    val = ends[-1].val
    for key in ("loss", "loss_heatmap", "loss_size", "loss_offset", "map", "map50", "map75",
                "ap_per_class", "ap50_per_class", "pr_curves", "classes"):
        assert key in val, key
    assert len(val["classes"]) == 6 and len(val["ap_per_class"]) == 6
    assert len(val["pr_curves"]["recall"]) == 101
    assert all(len(c) == 101 for c in val["pr_curves"]["precision"])
    assert 0 <= val["map"] <= val["map50"] <= 1
    assert ends[-1].train["loss"] < ends[0].train["loss"]  # it learns
    assert events[-1].monitor == "val_map50"


def test_predict_gives_plain_boxes_per_image_and_a_wrong_head_is_a_sentence():
    from engine.data.loader import load_dataset
    from engine.errors import UserError
    from engine.tasks import DetectionTask
    from engine.train.setup import build_models

    project = tiny_detector(samples=40)
    bundle = load_dataset(project.dataset)
    models = build_models(project, DetectionTask, 0, torch.device("cpu"))
    task = DetectionTask(project.task, bundle, models)
    preds = task.predict(bundle.val, 4, limit=3)
    assert len(preds) == 3
    for p in preds:
        assert set(p) == {"boxes", "scores", "labels"}
        assert len(p["boxes"]) == len(p["scores"]) == len(p["labels"]) <= 20
        assert all(len(b) == 4 for b in p["boxes"])
        assert p["scores"] == sorted(p["scores"], reverse=True)
    assert task.mode("val_map50") == "max" and task.mode("val_loss_size") == "min"

    x, y = bundle.train.x[:2], bundle.train.y[:2]
    with pytest.raises(UserError, match="DetectionHead with classes = 6"):
        task.loss(torch.zeros(2, 9, 8, 8), x, y)
    with pytest.raises(UserError, match="whole number of times smaller"):
        task.loss(torch.zeros(2, 10, 8, 6), x, y)
