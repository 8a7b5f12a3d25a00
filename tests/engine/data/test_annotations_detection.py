"""Detection files: COCO JSON, Pascal VOC XML and YOLO text, written for real, found from
their layouts and loaded through load_dataset."""

import pytest
import torch

from engine.data import DataError, load_dataset
from engine.data.annotations import vision_facts
from engine.data.facts import facts_of
from engine.project import DatasetSpec
from tests.engine.data import annotation_files as af

NONE = [-1.0] * 5


def spec(path, **kw) -> DatasetSpec:
    kw.setdefault("val_fraction", 0.0)
    return DatasetSpec(source="detection", path=str(path), normalize=False, **kw)


def rows(bundle, i) -> list[list[float]]:
    return bundle.train.y[i].tolist()


def coco_set(tmp_path, annotations, size=(10, 8)):
    for k in range(2):
        af.image(tmp_path / "images" / f"p{k}.png", size, value=k)
    images = [af.coco_image(10, "p0.png", size), af.coco_image(11, "p1.png", size)]
    af.coco(tmp_path / "annotations" / "instances.json", images, annotations)
    return tmp_path / "images"


def test_coco_boxes_load_with_categories_sorted_by_id(tmp_path):
    images = coco_set(tmp_path, [
        {"image_id": 10, "category_id": 3, "bbox": [1, 2, 3, 4]},
        {"image_id": 10, "category_id": 1, "bbox": [0, 0, 10, 8]},
        {"image_id": 11, "category_id": 1, "bbox": [2, 2, 2, 2], "iscrowd": 1},
    ])
    b = load_dataset(spec(images))
    assert (b.target, b.classes, b.target_shape) == ("boxes", ["dog", "cat"], (2, 5))
    assert b.train.y.dtype == torch.float32
    assert rows(b, 0) == [[1, 1, 2, 4, 6], [0, 0, 0, 10, 8]]
    assert rows(b, 1) == [NONE, NONE]  # the crowd box is left out: an image without boxes


def test_boxes_scale_with_the_image_size(tmp_path):
    images = coco_set(tmp_path, [{"image_id": 11, "category_id": 3, "bbox": [1, 2, 3, 4]}])
    b = load_dataset(spec(images, image_size=20))
    assert b.input_shape == (3, 20, 20)
    assert rows(b, 1) == [[1, 2, 5, 8, 15]]  # x * 2, y * 2.5


def test_images_of_different_sizes_scale_their_boxes_each(tmp_path):
    af.image(tmp_path / "images" / "a.png", (10, 10))
    af.image(tmp_path / "images" / "b.png", (20, 5))
    af.coco(tmp_path / "annotations" / "set.json",
            [af.coco_image(1, "a.png", (10, 10)), af.coco_image(2, "b.png", (20, 5))],
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]},
             {"image_id": 2, "category_id": 1, "bbox": [0, 0, 5, 5]}])
    with pytest.raises(DataError, match="different sizes.*set dataset.image_size"):
        load_dataset(spec(tmp_path / "images"))
    b = load_dataset(spec(tmp_path / "images", image_size=10))
    assert rows(b, 0) == [[0, 0, 0, 5, 5]] and rows(b, 1) == [[0, 0, 0, 2.5, 10]]


def voc_set(tmp_path, labels=None):
    af.image(tmp_path / "JPEGImages" / "a.jpg", (10, 8))
    af.image(tmp_path / "JPEGImages" / "b.jpg", (10, 8))
    af.voc_xml(tmp_path / "Annotations" / "a.xml", "a.jpg", (10, 8),
               [("dog", 1, 1, 10, 8), ("cat", 3, 3, 5, 6)])
    af.voc_xml(tmp_path / "Annotations" / "b.xml", "b.jpg", (10, 8), [])
    if labels:
        (tmp_path / "labels.txt").write_text(labels)
    return tmp_path


def test_voc_boxes_convert_from_one_based_pixels(tmp_path):
    b = load_dataset(spec(voc_set(tmp_path)))
    assert b.classes == ["cat", "dog"]  # every object name, sorted
    assert rows(b, 0) == [[1, 0, 0, 10, 8], [0, 2, 2, 5, 6]]
    assert rows(b, 1) == [NONE, NONE]


def test_voc_class_order_from_a_labels_file(tmp_path):
    b = load_dataset(spec(voc_set(tmp_path, labels="dog\ncat\nbird\n")))
    assert b.classes == ["dog", "cat", "bird"] and rows(b, 0)[0][0] == 0


def test_voc_folder_given_as_jpegimages_finds_annotations_beside(tmp_path):
    voc_set(tmp_path)
    assert len(load_dataset(spec(tmp_path / "JPEGImages")).train) == 2


def yolo_set(tmp_path, names="classes.txt"):
    af.image(tmp_path / "images" / "train" / "a.png", (10, 8))
    af.image(tmp_path / "images" / "train" / "b.png", (10, 8))
    af.yolo_txt(tmp_path / "labels" / "train" / "a.txt", [(1, 0.5, 0.5, 0.4, 0.5), (0, 0.1, 0.125, 0.2, 0.25)])
    if names == "classes.txt":
        (tmp_path / "labels" / "classes.txt").write_text("cat\ndog\n")
    elif names == "data.yaml":
        (tmp_path / "data.yaml").write_text("path: .\ntrain: images/train\nnames:\n  0: cat\n  1: dog\n")
    return tmp_path


@pytest.mark.parametrize("names", ["classes.txt", "data.yaml"])
def test_yolo_fractions_become_pixels_and_an_image_without_labels_has_no_boxes(tmp_path, names):
    b = load_dataset(spec(yolo_set(tmp_path, names)))
    assert b.classes == ["cat", "dog"]
    assert rows(b, 0) == [[1, 3, 2, 7, 6], [0, 0, 0, 2, 2]]
    assert rows(b, 1) == [NONE, NONE]


def test_yolo_without_names_counts_classes_from_the_ids(tmp_path):
    b = load_dataset(spec(yolo_set(tmp_path, names=None)))
    assert b.classes == ["class 0", "class 1"]


def test_yolo_labels_folder_given_explicitly(tmp_path):
    yolo_set(tmp_path)
    (tmp_path / "labels").rename(tmp_path / "boxes")
    b = load_dataset(spec(tmp_path / "images", annotations=str(tmp_path / "boxes")))
    assert b.classes == ["cat", "dog"] and rows(b, 0)[0] == [1, 3, 2, 7, 6]


def test_explicit_coco_file_and_relative_annotations_path(tmp_path):
    images = coco_set(tmp_path, [{"image_id": 10, "category_id": 3, "bbox": [1, 2, 3, 4]}])
    (tmp_path / "annotations" / "instances.json").rename(tmp_path / "boxes.json")
    with pytest.raises(DataError, match="no annotations found"):
        load_dataset(spec(images))
    b = load_dataset(spec(tmp_path, annotations="boxes.json"))
    assert rows(b, 0) == [[1, 1, 2, 4, 6]]


def test_several_coco_files_ask_for_a_choice(tmp_path):
    images = coco_set(tmp_path, [])
    (tmp_path / "annotations" / "captions.json").write_text("{}")
    with pytest.raises(DataError, match="several COCO files.*choose one as Annotations"):
        load_dataset(spec(images))


def test_folder_without_annotations_says_what_it_looked_for(tmp_path):
    af.image(tmp_path / "a.png")
    with pytest.raises(DataError, match="annotations/, Annotations/, labels/"):
        load_dataset(spec(tmp_path))


def test_missing_folder_and_empty_path(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_dataset(spec(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="no images folder"):
        load_dataset(DatasetSpec(source="detection"))


def test_facts_give_the_most_boxes_per_image(tmp_path):
    s = spec(voc_set(tmp_path), image_size=16)
    facts = vision_facts(s)
    assert facts.target_shape == (2, 5) and facts.input_shape == (3, 16, 16)
    assert facts == facts_of(load_dataset(s))


def test_file_sets_get_the_augmentation_that_moves_boxes(tmp_path):
    images = coco_set(tmp_path, [{"image_id": 10, "category_id": 3, "bbox": [1, 2, 3, 4]}])
    b = load_dataset(spec(images, augment_flip=True))
    assert getattr(b.augment, "moves_targets", False) and b.augment.target == "boxes"
    flipped_all = torch.Generator().manual_seed(0)
    x, y = b.train.x[:1], b.train.y[:1]
    for _ in range(20):  # some draw flips the one image: its box mirrors across x = 10
        _, moved = b.augment.pair(x.clone(), y.clone(), flipped_all)
        if not torch.equal(moved, y):
            assert moved[0, 0].tolist() == [1, 10 - 4, 2, 10 - 1, 6]
            return
    pytest.fail("no flip in 20 draws")
