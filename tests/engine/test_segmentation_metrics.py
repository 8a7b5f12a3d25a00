"""Segmentation loss and metrics on hand-made masks: the ignored pixels left out, IoU and
Dice exact (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.data.core import DataBundle, Split
from engine.errors import UserError
from engine.project import TaskSpec
from engine.tasks import SegmentationTask

# two 2x3 images; 255 marks a pixel to ignore (predicted 0 there: it must not count)
TRUTH = torch.tensor([[[0, 0, 1], [1, 2, 255]],
                      [[2, 2, 2], [0, 0, 0]]])
PRED = torch.tensor([[[0, 1, 1], [1, 2, 0]],
                     [[2, 2, 0], [0, 0, 0]]])


def task(classes: int = 3, loss: str = "", ignore: int = 255, outputs: int | None = None,
         truth: torch.Tensor = TRUTH, pred: torch.Tensor = PRED) -> tuple[SegmentationTask, Split]:
    """A task whose model is the identity: its input is already the scores (one-hot of
    ``pred``), so the metrics see exactly the predictions written here."""
    x = F.one_hot(pred, outputs or classes).permute(0, 3, 1, 2).float() * 10
    split = Split(x, truth)
    names = [f"class {k}" for k in range(classes)]
    bundle = DataBundle(split, split, None, "image", tuple(x.shape[1:]), "float", "mask",
                        names, target_shape=tuple(truth.shape[1:]))
    spec = TaskSpec(kind="segmentation", loss=loss, ignore_index=ignore)
    return SegmentationTask(spec, bundle, {"model": nn.Identity()}), split


def test_iou_dice_and_pixel_accuracy_are_exact_and_ignored_pixels_do_not_count() -> None:
    t, split = task()
    m = t.evaluate(split, batch_size=1)  # two batches: the confusion matrices add up
    # class 0: 5 true pixels, 5 predicted, 4 right; class 1: 2 true, 3 predicted, 2 right;
    # class 2: 4 true, 3 predicted, 3 right (the ignored pixel, predicted 0, is left out)
    assert m["confusion_matrix"] == [[4, 1, 0], [0, 2, 0], [1, 0, 3]]
    assert m["iou_per_class"] == pytest.approx([4 / 6, 2 / 3, 3 / 4])
    assert m["dice_per_class"] == pytest.approx([8 / 10, 4 / 5, 6 / 7])
    assert m["miou"] == pytest.approx((4 / 6 + 2 / 3 + 3 / 4) / 3)
    assert m["mean_dice"] == pytest.approx((8 / 10 + 4 / 5 + 6 / 7) / 3)
    assert m["pixel_accuracy"] == pytest.approx(9 / 11)
    assert m["classes"] == ["class 0", "class 1", "class 2"]
    assert {"loss", "loss_ce", "loss_dice"} <= set(m)


def test_a_class_neither_true_nor_predicted_is_left_out_of_the_means() -> None:
    t, split = task(classes=4)
    m = t.evaluate(split, batch_size=4)
    assert m["iou_per_class"][3] is None and m["dice_per_class"][3] is None
    assert m["miou"] == pytest.approx((4 / 6 + 2 / 3 + 3 / 4) / 3)
    assert len(m["confusion_matrix"]) == 4


def test_another_ignore_index_leaves_those_pixels_out_and_the_data_255_too() -> None:
    t, split = task(ignore=0)
    m = t.evaluate(split, batch_size=4)
    # pixels whose truth is 0 (or 255) are left out; a class 2 pixel predicted 0 still
    # counts, against class 0 too (its IoU 0)
    assert m["confusion_matrix"] == [[0, 0, 0], [0, 2, 0], [1, 0, 3]]
    assert m["iou_per_class"] == [0.0, pytest.approx(1.0), pytest.approx(3 / 4)]
    assert m["pixel_accuracy"] == pytest.approx(5 / 6)


def test_model_outputs_beyond_the_classes_count_as_wrong_but_are_no_class() -> None:
    pred = PRED.clone()
    pred[1, 0, 0] = 3  # an output no class uses
    t, split = task(outputs=4, pred=pred)
    m = t.evaluate(split, batch_size=4)
    assert len(m["iou_per_class"]) == 3
    assert m["iou_per_class"][2] == pytest.approx(2 / 4)  # 4 true, 2 predicted, 2 right
    assert m["pixel_accuracy"] == pytest.approx(8 / 11)
    assert m["confusion_matrix"][2] == [1, 0, 2, 1]  # the extra output's column


def test_the_loss_ignores_the_ignored_pixels_and_an_all_ignored_batch_is_zero() -> None:
    t, _split = task()
    scores = torch.randn(2, 3, 2, 3)
    other = scores.clone()
    other[0, :, 1, 2] = torch.tensor([50.0, -50.0, 3.0])  # the ignored pixel only
    assert torch.equal(t.parts(scores, TRUTH)["loss_ce"], t.parts(other, TRUTH)["loss_ce"])
    valid = TRUTH != 255
    want = F.cross_entropy(scores.permute(0, 2, 3, 1)[valid], TRUTH[valid])
    assert t.parts(scores, TRUTH)["loss_ce"].item() == pytest.approx(want.item())
    ignored = torch.full_like(TRUTH, 255)
    assert t.parts(scores, ignored)["loss_ce"].item() == 0.0


def test_dice_is_part_of_the_default_loss_and_not_of_ce() -> None:
    t, _split = task()
    scores = torch.randn(2, 3, 2, 3)
    both = t.parts(scores, TRUTH)
    assert both["loss"].item() == pytest.approx((both["loss_ce"] + both["loss_dice"]).item())
    ce, _ = task(loss="ce")
    alone = ce.parts(scores, TRUTH)
    assert alone["loss"].item() == pytest.approx(alone["loss_ce"].item())
    assert alone["loss_dice"].item() == pytest.approx(both["loss_dice"].item())
    perfect = F.one_hot(TRUTH.clamp(max=2), 3).permute(0, 3, 1, 2).float() * 100
    assert t.parts(perfect, TRUTH)["loss_dice"].item() == pytest.approx(0.0, abs=1e-6)


def test_an_unknown_loss_name_says_which_ones_there_are() -> None:
    with pytest.raises(UserError, match="task.loss 'focal' is not a segmentation loss: use "
                                        "ce\\+dice or ce"):
        task(loss="focal")


def test_train_step_returns_detached_figures_and_updates() -> None:
    t, split = task()
    conv = nn.Conv2d(3, 3, 1)
    t.models = {"model": conv}
    before = conv.weight.detach().clone()
    opt = torch.optim.SGD(conv.parameters(), lr=0.5)

    def step(name, loss):
        opt.zero_grad()
        loss.backward()
        opt.step()

    figures = t.train_step(split.x, split.y, step)
    assert set(figures) == {"loss", "loss_ce", "loss_dice", "pixel_accuracy"}
    assert all(not v.requires_grad and v.dim() == 0 for v in figures.values())
    assert not torch.equal(before, conv.weight)


def test_predict_gives_uint8_masks_and_each_images_iou() -> None:
    t, split = task()
    masks, ious = t.predict(split, batch_size=1)
    assert masks.dtype == np.uint8 and masks.shape == (2, 2, 3)
    assert (masks == PRED.numpy()).all()
    # image 0: class 0 IoU 1/2, class 1 2/3, class 2 1; image 1: class 0 3/4, class 2 2/3
    assert ious == pytest.approx([(1 / 2 + 2 / 3 + 1) / 3, (3 / 4 + 2 / 3) / 2])
    masks, ious = t.predict(split, batch_size=4, limit=1)
    assert masks.shape == (1, 2, 3) and len(ious) == 1
