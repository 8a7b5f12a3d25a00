"""The built-in scene sets shapes_seg and shapes_det (issue 22): drawn images whose masks
and boxes are exact, balanced over the classes, deterministic, and quick to make."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from engine.data import DataError, load_dataset
from engine.data import facts as facts_module
from engine.data.builtin import SCENE_SIZE
from engine.data.facts import facts_of, quick_facts
from engine.data.scenes import DET_CLASSES, MAX_SHAPES, MIN_SIZE, SEG_CLASSES, draw_scenes
from engine.data.shapes import SHAPE_CLASSES
from engine.project import DatasetSpec


@pytest.fixture(scope="module")
def scenes():
    return draw_scenes(400, 64, seed=11)


def _valid(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :, 0] >= 0


def test_the_same_seed_draws_the_same_scenes_and_another_seed_others():
    a, b, c = draw_scenes(40, 32, 3), draw_scenes(40, 32, 3), draw_scenes(40, 32, 4)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert np.array_equal(a.boxes, b.boxes)
    assert not np.array_equal(a.images, c.images) and not np.array_equal(a.boxes, c.boxes)


def test_the_first_scenes_do_not_depend_on_how_many_are_drawn():
    """A preview of the first images shows the data set's own first images."""
    few, many = draw_scenes(12, 64, 5), draw_scenes(300, 64, 5)
    assert np.array_equal(few.images, many.images[:12]) and np.array_equal(few.boxes, many.boxes[:12])


def test_scenes_have_the_documented_shapes_and_ranges(scenes):
    assert scenes.images.shape == (400, 3, 64, 64) and scenes.images.dtype == np.float32
    assert scenes.images.min() >= 0.0 and scenes.images.max() <= 1.0
    assert scenes.masks.shape == (400, 64, 64)
    assert set(np.unique(scenes.masks).tolist()) == set(range(len(SEG_CLASSES)))
    assert scenes.boxes.shape == (400, MAX_SHAPES, 5)
    valid = _valid(scenes.boxes)
    shapes_per_image = valid.sum(axis=1)
    assert shapes_per_image.min() == 1 and shapes_per_image.max() == MAX_SHAPES
    # valid rows first, padding rows all -1
    assert (np.diff(valid.astype(int), axis=1) <= 0).all()
    assert (scenes.boxes[~valid] == -1).all()
    rows = scenes.boxes[valid]
    assert (rows[:, 1] >= 0).all() and (rows[:, 3] <= 64).all() and (rows[:, 2] >= 0).all()
    assert (rows[:, 4] <= 64).all() and (rows[:, 3] > rows[:, 1]).all() and (rows[:, 4] > rows[:, 2]).all()


def test_every_box_is_tight_around_mask_pixels_of_its_class(scenes):
    for i in range(len(scenes.masks)):
        for cls, x0, y0, x1, y1 in scenes.boxes[i][_valid(scenes.boxes)[i]].astype(int):
            inside = scenes.masks[i, y0:y1, x0:x1] == cls + 1
            # the shape's pixels reach all four sides of its box
            assert inside[0].any() and inside[-1].any(), (i, cls)
            assert inside[:, 0].any() and inside[:, -1].any(), (i, cls)
            assert inside.mean() > 0.25, (i, cls)  # mostly the shape, not a neighbour


def test_every_shape_pixel_lies_in_a_box_of_its_class(scenes):
    for i in range(0, len(scenes.masks), 7):
        boxed = np.zeros((64, 64), dtype=np.int64)
        for cls, x0, y0, x1, y1 in scenes.boxes[i][_valid(scenes.boxes)[i]].astype(int):
            region = boxed[y0:y1, x0:x1]
            region[scenes.masks[i, y0:y1, x0:x1] == cls + 1] = cls + 1
        assert np.array_equal(boxed, scenes.masks[i].astype(np.int64)), i


def test_the_classes_are_balanced(scenes):
    rows = scenes.boxes[_valid(scenes.boxes)]
    per_class = np.bincount(rows[:, 0].astype(int), minlength=len(SHAPE_CLASSES))
    assert per_class.max() - per_class.min() < 0.1 * per_class.mean()
    counts = np.bincount(_valid(scenes.boxes).sum(axis=1), minlength=MAX_SHAPES + 1)[1:]
    assert counts.min() > 0.8 * counts.mean()  # 1, 2, 3 and 4 shapes about equally often


def test_shapes_stand_out_from_the_background(scenes):
    """The task is learnable: each shape's colour differs clearly from the background
    around it."""
    for i in range(100):
        for cls, x0, y0, x1, y1 in scenes.boxes[i][_valid(scenes.boxes)[i]].astype(int):
            pixels = scenes.images[i][:, y0:y1, x0:x1]
            mask = scenes.masks[i, y0:y1, x0:x1]
            if (mask == 0).sum() < 5:
                continue
            fg = pixels[:, mask == cls + 1].mean(axis=1)
            bg = pixels[:, mask == 0].mean(axis=1)
            assert np.abs(fg - bg).mean() > 0.15, (i, cls)


def test_noise_option_sets_the_pixel_noise():
    clean = load_dataset(DatasetSpec(name="shapes_seg", samples=40, normalize=False,
                                     options={"noise": 0.0}))
    noisy = load_dataset(DatasetSpec(name="shapes_seg", samples=40, normalize=False,
                                     options={"noise": 0.2}))
    # neighbouring background pixels: nearly equal without noise (a gentle gradient only)
    def roughness(b):
        x = b.train.x
        return (x[..., 1:] - x[..., :-1]).abs().median().item()

    assert roughness(clean) < 0.01 < 0.1 < roughness(noisy)


def test_two_thousand_scenes_draw_in_about_a_second():
    draw_scenes(64, 64, 0)  # warm up numpy
    start = time.process_time()
    draw_scenes(2000, 64, 0)
    assert time.process_time() - start < 4.0  # about 1 s on one core; generous for busy CI


@pytest.mark.parametrize("name", ["shapes_seg", "shapes_det"])
def test_built_in_scene_sets_load_as_the_contract_says(name):
    b = load_dataset(DatasetSpec(source="builtin", name=name, samples=200))
    assert b.kind == "image" and b.input_shape == (3, 64, 64) and b.input_dtype == "float"
    assert b.source == f"builtin:{name}" and len(b.train) + len(b.val) == 200
    # normalised per channel with the training split's statistics
    assert len(b.mean) == 3
    assert torch.allclose(b.train.x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    if name == "shapes_seg":
        assert b.target == "mask" and b.classes == SEG_CLASSES and b.classes[0] == "background"
        assert b.target_shape == (64, 64)
        assert b.train.y.dtype == torch.long and b.train.y.shape == (len(b.train), 64, 64)
        assert set(b.train.y.unique().tolist()) <= set(range(len(SEG_CLASSES)))
    else:
        assert b.target == "boxes" and b.classes == DET_CLASSES == SHAPE_CLASSES
        assert b.target_shape == (MAX_SHAPES, 5)
        assert b.train.y.dtype == torch.float32 and b.train.y.shape == (len(b.train), MAX_SHAPES, 5)
    assert quick_facts(DatasetSpec(name=name, samples=200)) == facts_of(b)


@pytest.mark.parametrize("name", ["shapes_seg", "shapes_det"])
def test_image_size_and_grayscale_follow_the_spec(name):
    spec = DatasetSpec(name=name, samples=30, image_size=32, grayscale=True)
    b = load_dataset(spec)
    assert b.input_shape == (1, 32, 32)
    assert tuple(b.train.y.shape[1:]) == ((32, 32) if name == "shapes_seg" else (MAX_SHAPES, 5))
    assert quick_facts(spec) == facts_of(b)
    if name == "shapes_det":
        assert b.train.y[..., 1:].max() <= 32


def test_seed_option_overrides_the_split_seed():
    a = load_dataset(DatasetSpec(name="shapes_det", samples=30, options={"seed": 9}, split_seed=1))
    b = load_dataset(DatasetSpec(name="shapes_det", samples=30, options={"seed": 9}, split_seed=1))
    c = load_dataset(DatasetSpec(name="shapes_det", samples=30, options={"seed": 8}, split_seed=1))
    assert torch.equal(a.train.y, b.train.y) and not torch.equal(a.train.y, c.train.y)


def test_too_small_images_are_refused_with_a_sentence():
    spec = DatasetSpec(name="shapes_seg", samples=10, image_size=MIN_SIZE - 1)
    with pytest.raises(DataError, match="image_size must be at least 16"):
        load_dataset(spec)
    assert quick_facts(spec) is None


def test_the_torch_free_facts_use_the_generators_constants():
    assert facts_module._SCENE_SIZE == SCENE_SIZE
    assert facts_module._SCENE_SHAPES == MAX_SHAPES
    assert facts_module._SCENE_MIN_SIZE == MIN_SIZE


def summary(scenes, target):
    import torch

    from engine.data.annotations import summarize_targets

    if target == "mask":
        return summarize_targets(torch.from_numpy(scenes.masks).long(), "mask", SEG_CLASSES)
    return summarize_targets(torch.from_numpy(scenes.boxes), "boxes", DET_CLASSES)


def test_summary_counts_boxes_and_pixels(scenes):
    det = summary(scenes, "boxes")
    assert det["images"] == 400 and det["classes"] == DET_CLASSES
    assert sum(det["boxes_per_class"]) == int(_valid(scenes.boxes).sum())
    assert sum(det["box_sizes"]["counts"]) == sum(det["boxes_per_class"])
    assert det["images_without_boxes"] == 0
    seg = summary(scenes, "mask")
    assert seg["classes"] == SEG_CLASSES and sum(seg["pixels_per_class"]) == pytest.approx(1.0)
    assert seg["pixels_per_class"][0] > 0.5  # mostly background
