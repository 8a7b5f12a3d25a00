"""Joint augmentation for segmentation and detection (issue 22): masks and boxes move with
their images, so a model never learns from a target that no longer matches its picture."""

from __future__ import annotations

import pytest
import torch

from engine.data import Split, iter_batches, load_dataset
from engine.data.augment import IGNORE, Augment, PairAugment
from engine.data.scenes import draw_scenes
from engine.project import DatasetSpec


@pytest.fixture(scope="module")
def scenes():
    s = draw_scenes(64, 32, seed=2)
    return torch.from_numpy(s.images), torch.from_numpy(s.masks).long(), torch.from_numpy(s.boxes)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _painted(masks: torch.Tensor) -> torch.Tensor:
    """Images that show their masks: channel 0 is the class / 10 (exact under flips and
    crops, which move whole pixels)."""
    return (masks.float() / 10.0)[:, None].repeat(1, 2, 1, 1)


def test_flip_mirrors_masks_with_their_images(scenes):
    _, masks, _ = scenes
    x = _painted(masks)
    out, moved = PairAugment(flip=True, target="mask").pair(x, masks, _g(1))
    flipped = (moved == masks.flip(-1)).flatten(1).all(1) & ~(moved == masks).flatten(1).all(1)
    assert 10 < int(flipped.sum()) < 54  # about half, each image whole or not at all
    assert torch.equal((out[:, 0] * 10).round().long(), moved)


def test_flip_mirrors_boxes_with_their_images(scenes):
    images, masks, boxes = scenes
    seed = 3
    x_seg, m = PairAugment(flip=True, target="mask").pair(images, masks, _g(seed))
    x_det, b = PairAugment(flip=True, target="boxes").pair(images, boxes, _g(seed))
    assert torch.equal(x_seg, x_det)  # the same draws for both targets
    assert not torch.equal(b, boxes)
    for i in range(len(b)):
        for cls, x0, y0, x1, y1 in b[i][b[i, :, 0] >= 0].long().tolist():
            inside = m[i, y0:y1, x0:x1] == cls + 1
            # still tight around the (moved) shape's pixels
            assert inside[:, 0].any() and inside[:, -1].any(), (i, cls)
            assert inside[0].any() and inside[-1].any(), (i, cls)
    # widths, heights and padding rows are unchanged by a flip
    size = lambda t: torch.stack([t[..., 3] - t[..., 1], t[..., 4] - t[..., 2]], -1)  # noqa: E731
    assert torch.equal(size(b), size(boxes))


def test_crop_shifts_masks_with_their_images_and_fills_the_border_with_ignore(scenes):
    _, masks, _ = scenes
    out, moved = PairAugment(crop=4, target="mask").pair(_painted(masks), masks, _g(2))
    border = moved == IGNORE
    assert border.any() and not border.all()
    assert (out[:, 0][border] == 0).all()  # the image's padding is where the mask ignores
    assert torch.equal((out[:, 0][~border] * 10).round().long(), moved[~border])


def _shifts(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's crop shift, read at the centre of images whose channels hold column
    and row + 1 (the centre never shows padding)."""
    r, c = out.shape[2] // 2, out.shape[3] // 2
    return c - (out[:, 0, r, c] - 1), r - (out[:, 1, r, c] - 1)


def test_crop_shifts_and_clips_boxes_and_drops_those_mostly_cut_off():
    b, w, h, pad = 300, 20, 16, 6
    cols = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w).expand(b, 1, h, w) + 1
    rows = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1).expand(b, 1, h, w) + 1
    x = torch.cat([cols, rows], 1)
    box = [2.0, 1.0, 2.0, 9.0, 7.0]  # class 2, 8 x 5 pixels near the top-left corner
    y = torch.tensor([box, [-1.0] * 5]).expand(b, 2, 5).contiguous()
    out, moved = PairAugment(crop=pad, target="boxes").pair(x, y, _g(4))
    dx, dy = _shifts(out)
    kept = dropped = 0
    for i in range(b):
        x0, y0 = max(0.0, 1 + dx[i].item()), max(0.0, 2 + dy[i].item())
        x1, y1 = min(w, 9 + dx[i].item()), min(h, 7 + dy[i].item())
        side_w, side_h = x1 - x0, y1 - y0
        keep = min(side_w, side_h) >= 2 and side_w * side_h >= 0.4 * 40
        if keep:
            assert moved[i, 0].tolist() == [2.0, x0, y0, x1, y1], i
            kept += 1
        else:
            assert (moved[i, 0] == -1).all(), i
            dropped += 1
        assert (moved[i, 1] == -1).all()  # padding rows stay padding
    assert kept > 0 and dropped > 0


def test_rotation_leaves_boxes_and_their_images_alone(scenes):
    images, _, boxes = scenes
    aug = PairAugment(rotate=30, target="boxes")
    assert not aug.active  # the loader then offers no augmentation at all
    out, moved = aug.pair(images, boxes, _g(0))
    assert torch.equal(out, images) and torch.equal(moved, boxes)
    flip_only = PairAugment(flip=True, rotate=30, target="boxes")
    out, _ = flip_only.pair(images, boxes, _g(0))
    assert torch.equal(out, PairAugment(flip=True, target="boxes").pair(images, boxes, _g(0))[0])


def test_rotation_turns_masks_with_their_images_and_fills_corners_with_ignore():
    masks = torch.zeros(8, 31, 31, dtype=torch.long)
    masks[:, 12:19, 2:29] = 3  # a horizontal bar through the centre
    x = _painted(masks)
    out, moved = PairAugment(rotate=40, target="mask").pair(x, masks, _g(5))
    assert (moved[:, 15, 15] == 3).all()  # the centre stays
    assert set(moved.unique().tolist()) <= {0, 3, IGNORE} and (moved == IGNORE).any()
    assert not torch.equal(moved, masks)
    # the image was turned alike: where it is clearly bar, the mask says bar, and back
    assert (moved[out[:, 0] > 0.29] == 3).all() and (moved[out[:, 0] < 0.01] != 3).all()


def test_pair_augmentation_is_deterministic_and_draws_as_augment_does(scenes):
    images, masks, _ = scenes
    aug = PairAugment(flip=True, crop=3, rotate=15, target="mask")
    a, b = aug.pair(images, masks, _g(9)), aug.pair(images, masks, _g(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], aug.pair(images, masks, _g(10))[1])
    # the images get exactly what classification's augmentation would give them
    assert torch.equal(a[0], Augment(flip=True, crop=3, rotate=15)(images, _g(9)))


def test_iter_batches_yields_targets_moved_with_their_images(scenes):
    _, masks, _ = scenes
    split = Split(_painted(masks), masks)
    aug = PairAugment(flip=True, crop=4, target="mask")
    seen_moved = False
    for xb, yb in iter_batches(split, 16, shuffle=True, generator=_g(1), augment=aug):
        border = yb == IGNORE
        assert torch.equal((xb[:, 0][~border] * 10).round().long(), yb[~border])
        seen_moved |= bool(border.any())
    assert seen_moved


def test_wrong_targets_and_calls_without_targets_are_refused(scenes):
    images, masks, boxes = scenes
    with pytest.raises(ValueError, match="masks or boxes"):
        PairAugment(flip=True, target="class")
    with pytest.raises(TypeError, match="pair"):
        PairAugment(flip=True)(images, _g())
    with pytest.raises(ValueError, match="masks must be"):
        PairAugment(flip=True, target="mask").pair(images, boxes, _g())


@pytest.mark.parametrize(("name", "target"), [("shapes_seg", "mask"), ("shapes_det", "boxes")])
def test_scene_bundles_offer_pair_augmentation(name, target):
    spec = DatasetSpec(name=name, samples=20, augment_flip=True, augment_crop=2)
    b = load_dataset(spec)
    assert isinstance(b.augment, PairAugment) and b.augment.target == target
    assert b.augment.flip and b.augment.crop == 2
    rotate_only = load_dataset(DatasetSpec(name=name, samples=20, augment_rotate=10)).augment
    assert (rotate_only is None) is (target == "boxes")
    classify = load_dataset(DatasetSpec(name="shapes", samples=20, augment_flip=True)).augment
    assert type(classify) is Augment
