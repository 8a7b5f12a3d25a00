"""The import summary and the preview of segmentation and detection sets, from files and
from the built-in scenes."""

import numpy as np
import pytest
import torch

from engine.data import DataError, load_dataset
from engine.data.annotations import VisionSample, preview, summarize_targets, summary
from engine.project import DatasetSpec
from tests.engine.data import annotation_files as af


def spec(source, path, **kw) -> DatasetSpec:
    kw.setdefault("val_fraction", 0.0)
    return DatasetSpec(source=source, path=str(path), normalize=False, **kw)


def coco_set(tmp_path):
    """Three 10x8 images: two cats and a dog on the first, a 6x6 dog on the second, none on
    the third."""
    for k in range(3):
        af.image(tmp_path / "images" / f"p{k}.png", (10, 8), value=k)
    af.coco(tmp_path / "annotations" / "set.json",
            [af.coco_image(k, f"p{k}.png", (10, 8)) for k in range(3)],
            [{"image_id": 0, "category_id": 3, "bbox": [0, 0, 2, 2]},
             {"image_id": 0, "category_id": 3, "bbox": [2, 2, 3, 3]},
             {"image_id": 0, "category_id": 1, "bbox": [0, 0, 10, 8]},
             {"image_id": 1, "category_id": 1, "bbox": [1, 1, 6, 6]}])
    return tmp_path / "images"


def test_detection_summary_counts_boxes_sizes_and_empty_images(tmp_path):
    found = summary(spec("detection", coco_set(tmp_path)))
    assert found["images"] == 3 and found["classes"] == ["dog", "cat"]
    assert found["boxes_per_class"] == [2, 2] and found["images_without_boxes"] == 1
    # sqrt(w*h): 2, 3, sqrt(80) = 8.9, 6
    assert found["box_sizes"] == {"edges": [0.0, 4.0, 8.0, 12.0], "counts": [2, 1, 1]}
    assert (found["skipped"], found["problems"]) == (0, [])


def test_summary_of_files_equals_the_loaded_bundles(tmp_path):
    s = spec("detection", coco_set(tmp_path), image_size=20)
    assert summary(s) == load_dataset(s).summary
    assert summary(s)["box_sizes"]["edges"][-1] >= 2 * np.sqrt(80)  # in model pixels


def test_segmentation_summary_gives_pixel_fractions(tmp_path):
    images = af.seg_folder(tmp_path, n=2)  # 48 pixels each: 24 background (one is 255), 24 class
    found = summary(spec("segmentation", images))
    assert found["images"] == 2 and found["classes"] == ["class 0", "class 1", "class 2"]
    assert found["pixels_per_class"] == pytest.approx([46 / 94, 24 / 94, 24 / 94])
    assert found["ignored_pixels"] == pytest.approx(2 / 96)
    assert found == load_dataset(spec("segmentation", images)).summary


def test_summarize_targets_on_tensors():
    boxes = torch.full((3, 2, 5), -1.0)
    boxes[0, 0] = torch.tensor([1, 0, 0, 4, 4])
    boxes[0, 1] = torch.tensor([1, 0, 0, 40, 10])
    boxes[2, 0] = torch.tensor([0, 5, 5, 6, 6])
    found = summarize_targets(boxes, "boxes", ["a", "b"], skipped=2, problems=["x: y: z"])
    assert found["boxes_per_class"] == [1, 2] and found["images_without_boxes"] == 1
    assert found["box_sizes"] == {"edges": [0.0, 4.0, 8.0, 12.0, 16.0, 24.0],
                                  "counts": [1, 1, 0, 0, 1]}  # sizes 1, 4 and 20
    assert (found["skipped"], found["problems"]) == (2, ["x: y: z"])
    masks = torch.tensor([[[0, 1], [255, 1]]])
    found = summarize_targets(masks, "mask", ["bg", "fg", "other"])
    assert found["pixels_per_class"] == pytest.approx([1 / 3, 2 / 3, 0.0])


def test_builtin_summaries_match_the_loaded_sets():
    for name in ("shapes_seg", "shapes_det"):
        s = DatasetSpec(source="builtin", name=name, samples=40)
        assert summary(s) == load_dataset(s).summary
    det = summary(DatasetSpec(source="builtin", name="shapes_det", samples=40))
    assert det["images"] == 40 and sum(det["boxes_per_class"]) >= 40


def test_summary_of_a_set_that_is_no_vision_set():
    with pytest.raises(DataError, match="not a segmentation or detection set"):
        summary(DatasetSpec(source="builtin", name="spirals"))


def test_preview_of_detection_files_draws_boxes_in_model_pixels(tmp_path):
    s = spec("detection", coco_set(tmp_path), image_size=20)
    samples = preview(s, count=12, seed=0)
    assert [x.name for x in samples] == ["p0.png", "p1.png", "p2.png"]  # all three, in order
    first = samples[0]
    assert isinstance(first, VisionSample) and first.image.shape == (20, 20, 3)
    assert first.image.dtype == np.uint8 and first.mask is None
    assert first.boxes == [(1, 0.0, 0.0, 4.0, 5.0), (1, 4.0, 5.0, 10.0, 12.5), (0, 0.0, 0.0, 20.0, 20.0)]
    assert samples[2].boxes == []


def test_preview_of_masks_picks_by_seed(tmp_path):
    images = af.seg_folder(tmp_path, n=6, mode="P")
    s = spec("segmentation", images, grayscale=True)
    one, again = preview(s, 2, seed=1), preview(s, 2, seed=1)
    assert len(one) == 2 and [x.name for x in one] == [x.name for x in again]
    assert {tuple(x.name for x in preview(s, 2, seed=k)) for k in range(6)} != {
        tuple(x.name for x in one)}  # other seeds pick other images
    k = int(one[0].name.removeprefix("img").removesuffix(".png"))
    assert one[0].image.shape == (6, 8, 3)  # shown in colour even for a grey model input
    assert np.array_equal(one[0].mask, af.seg_values(k))


@pytest.mark.parametrize("name", ["shapes_seg", "shapes_det"])
def test_preview_of_builtin_scenes(name):
    samples = preview(DatasetSpec(source="builtin", name=name, samples=50), count=5, seed=3)
    assert len(samples) == 5 and samples[0].image.shape == (64, 64, 3)
    if name == "shapes_seg":
        assert samples[0].mask.shape == (64, 64) and samples[0].mask.max() <= 6
    else:
        assert samples[0].mask is None and 1 <= len(samples[0].boxes) <= 4
        cls, x0, y0, x1, y1 = samples[0].boxes[0]
        assert 0 <= cls < 6 and 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64


def test_decoded_size_above_the_memory_threshold_is_refused(tmp_path):
    s = spec("detection", coco_set(tmp_path), options={"stream_threshold": 100})
    with pytest.raises(DataError, match="not streamed from disk.*smaller dataset.image_size"):
        load_dataset(s)


def test_the_package_functions_stay_callable_after_first_use():
    # a submodule named like a package function would replace it on first import
    from engine.data import annotations
    from engine.project import DatasetSpec

    spec = DatasetSpec(source="builtin", name="shapes_det", samples=20)
    annotations.summary(spec)
    annotations.preview(spec, count=2)
    assert callable(annotations.summary) and callable(annotations.preview)
