"""Segmentation files: PNG mask folders (index, palette, colour) and COCO polygons and RLE,
written for real and loaded through load_dataset."""

import numpy as np
import pytest
import torch
from faster_coco_eval.core import mask as coco_mask
from PIL import Image, ImageDraw

from engine.data import DataError, load_dataset, parse_spec
from engine.data.annotations import vision_facts
from engine.data.facts import data_facts, facts_of
from engine.project import DatasetSpec
from tests.engine.data import annotation_files as af


def spec(path, **kw) -> DatasetSpec:
    kw.setdefault("val_fraction", 0.0)
    return DatasetSpec(source="segmentation", path=str(path), normalize=False, **kw)


@pytest.mark.parametrize("mode", ["L", "P"])
def test_index_masks_load_as_class_values_with_255_kept(tmp_path, mode):
    images = af.seg_folder(tmp_path, n=4, mode=mode)
    b = load_dataset(spec(images))
    assert (b.kind, b.target, b.input_shape, b.target_shape) == ("image", "mask", (3, 6, 8), (6, 8))
    assert b.classes == ["class 0", "class 1", "class 2"]
    assert b.train.y.dtype == torch.long
    for k in range(4):  # entries in file order: img0..img3
        assert torch.equal(b.train.y[k], torch.from_numpy(af.seg_values(k)).long())
        assert b.train.x[k, 0, 2, 3].item() == pytest.approx((k + 3 + 20) / 255)


def test_class_names_come_from_a_labels_file_beside_the_images(tmp_path):
    images = af.seg_folder(tmp_path, n=2)
    (tmp_path / "labels.txt").write_text("# classes\nbackground\ncat\ndog\n")
    assert load_dataset(spec(images)).classes == ["background", "cat", "dog"]


def test_explicit_labels_file_wins(tmp_path):
    images = af.seg_folder(tmp_path, n=2)
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    (tmp_path / "mine.txt").write_text("sky\nroad\ncar\nperson\n")
    b = load_dataset(spec(images, labels=str(tmp_path / "mine.txt")))
    assert b.classes == ["sky", "road", "car", "person"]


def test_colour_masks_map_through_the_labels_file_colours(tmp_path):
    images = af.seg_folder(tmp_path, n=3, mode="RGB")
    (tmp_path / "classes.txt").write_text(
        "background 0 0 0\ncat 255 0 0\ndog 0 255 0\nvoid 255 255 255\n")
    b = load_dataset(spec(images))
    assert b.classes == ["background", "cat", "dog"]  # the void colour is no class: 255
    for k in range(3):
        assert torch.equal(b.train.y[k], torch.from_numpy(af.seg_values(k)).long())


def test_colour_masks_without_labels_take_the_colours_in_sorted_order(tmp_path):
    images = af.seg_folder(tmp_path, n=2, mode="RGB")
    b = load_dataset(spec(images))
    # black 0x000000, green 0x00ff00, red 0xff0000, white 0xffffff
    assert b.classes == ["class 0", "class 1", "class 2", "class 3"]
    first = b.train.y[0]  # right half class 1 of the file = red -> 2; the white pixel -> 3
    assert first[1, 0].item() == 0 and first[1, 7].item() == 2 and first[0, 0].item() == 3
    assert b.train.y[1][1, 7].item() == 1  # green


def test_masks_are_resized_by_nearest_with_their_images(tmp_path):
    images = af.seg_folder(tmp_path, n=2)
    b = load_dataset(spec(images, image_size=12))
    assert b.input_shape == (3, 12, 12) and b.target_shape == (12, 12)
    for k in range(2):
        expect = Image.fromarray(af.seg_values(k)).resize((12, 12), Image.Resampling.NEAREST)
        assert torch.equal(b.train.y[k], torch.from_numpy(np.array(expect)).long())
    assert set(b.train.y.unique().tolist()) <= {0, 1, 2, 255}


def test_different_sizes_need_an_image_size(tmp_path):
    images = af.seg_folder(tmp_path, n=1)
    af.image(images / "big.png", (10, 10))
    af.mask(tmp_path / "masks" / "big.png", np.zeros((10, 10)))
    with pytest.raises(DataError, match="different sizes.*dataset.image_size"):
        load_dataset(spec(images))
    assert load_dataset(spec(images, image_size=8)).train.y.shape == (2, 8, 8)


def test_grayscale_and_grey_images_give_one_channel(tmp_path):
    images = af.seg_folder(tmp_path, n=2)
    assert load_dataset(spec(images, grayscale=True)).input_shape == (1, 6, 8)


@pytest.mark.parametrize("layout", ["beside", "under", "SegmentationClass", "labels", "explicit"])
def test_mask_folder_is_found_from_the_layout(tmp_path, layout):
    names = {"beside": "masks", "SegmentationClass": "SegmentationClass", "labels": "labels",
             "explicit": "my_masks"}
    if layout == "under":
        images = tmp_path / "images"
        for k in range(3):
            af.image(images / f"img{k}.png", value=k)
            af.mask(images / "masks" / f"img{k}.png", af.seg_values(k))
    else:
        images = af.seg_folder(tmp_path, n=3, masks_dir=names[layout])
    given = str(tmp_path / "my_masks") if layout == "explicit" else ""
    b = load_dataset(spec(images, annotations=given))
    assert len(b.train) == 3  # masks under the images folder are not taken for images
    assert torch.equal(b.train.y[2], torch.from_numpy(af.seg_values(2)).long())


def test_masks_match_images_in_sub_folders_by_relative_name(tmp_path):
    for part, k in (("train", 0), ("val", 1)):
        af.image(tmp_path / "images" / part / "a.png", value=k)
        af.mask(tmp_path / "masks" / part / "a.png", af.seg_values(k))
    b = load_dataset(spec(tmp_path / "images"))
    assert torch.equal(b.train.y[0], torch.from_numpy(af.seg_values(0)).long())
    assert torch.equal(b.train.y[1], torch.from_numpy(af.seg_values(1)).long())


def test_no_masks_found_says_where_it_looked(tmp_path):
    af.image(tmp_path / "images" / "a.png")
    with pytest.raises(DataError, match="no annotations found.*masks/"):
        load_dataset(spec(tmp_path / "images"))


# --- COCO ------------------------------------------------------------------------------


def coco_set(tmp_path, annotations):
    for k in range(2):
        af.image(tmp_path / "images" / f"p{k}.png", value=k)
    images = [af.coco_image(10, "p0.png"), af.coco_image(11, "p1.png")]
    af.coco(tmp_path / "annotations" / "instances.json", images, annotations)
    return tmp_path / "images"


def test_coco_polygons_are_rasterised_with_categories_sorted_by_id(tmp_path):
    polygon = [0, 0, 3, 0, 3, 2, 0, 2]
    images = coco_set(tmp_path, [{"image_id": 10, "category_id": 3, "segmentation": [polygon]}])
    b = load_dataset(spec(images))
    assert b.classes == ["background", "dog", "cat"]  # dog id 1, cat id 3
    expect = Image.new("L", (8, 6), 0)
    ImageDraw.Draw(expect).polygon([(0, 0), (3, 0), (3, 2), (0, 2)], fill=2)
    assert torch.equal(b.train.y[0], torch.from_numpy(np.array(expect)).long())
    assert int((b.train.y[0] == 2).sum()) == 12 and int(b.train.y[1].sum()) == 0


def test_coco_rle_uncompressed_and_compressed(tmp_path):
    column1 = {"counts": [6, 6, 36], "size": [6, 8]}  # column-major: column 1 is set
    bits = np.zeros((6, 8), dtype=np.uint8)
    bits[:, 5] = 1
    packed = coco_mask.encode(np.asfortranarray(bits))
    images = coco_set(tmp_path, [
        {"image_id": 10, "category_id": 1, "segmentation": column1, "iscrowd": 1},
        {"image_id": 11, "category_id": 3,
         "segmentation": {"counts": packed["counts"].decode(), "size": [6, 8]}},
    ])
    b = load_dataset(spec(images))
    expect0 = torch.zeros(6, 8, dtype=torch.long)
    expect0[:, 1] = 1
    expect1 = torch.zeros(6, 8, dtype=torch.long)
    expect1[:, 5] = 2
    assert torch.equal(b.train.y[0], expect0) and torch.equal(b.train.y[1], expect1)


def test_later_coco_annotations_paint_over_earlier_ones(tmp_path):
    whole = [0, 0, 7, 0, 7, 5, 0, 5]
    corner = [0, 0, 1, 0, 1, 1, 0, 1]
    images = coco_set(tmp_path, [
        {"image_id": 10, "category_id": 1, "segmentation": [whole]},
        {"image_id": 10, "category_id": 3, "segmentation": [corner]},
    ])
    y = load_dataset(spec(images)).train.y[0]
    assert y[0, 0].item() == 2 and y[5, 7].item() == 1


def test_facts_match_the_loaded_set(tmp_path):
    images = af.seg_folder(tmp_path, n=3, mode="P")
    s = spec(images, image_size=16)
    assert vision_facts(s) == facts_of(load_dataset(s)) == data_facts(s)
    rgb = spec(images, mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2], grayscale=True)
    assert vision_facts(rgb).input_shape == (3, 6, 8)  # grey images into an RGB backbone


def test_parse_spec_reads_segmentation_and_detection_paths():
    assert (parse_spec("segmentation:/data/cells").source, parse_spec("segmentation:/data/cells").path) == (
        "segmentation", "/data/cells")
    assert parse_spec("detection:~/voc").path == "~/voc"
    with pytest.raises(DataError, match="needs a path"):
        parse_spec("detection:")


def test_training_split_gets_normalised_and_pair_augmentation(tmp_path):
    images = af.seg_folder(tmp_path, n=5)
    b = load_dataset(DatasetSpec(source="segmentation", path=str(images), val_fraction=0.2,
                                 augment_flip=True))
    assert (len(b.train), len(b.val)) == (4, 1) and b.mean is not None
    assert getattr(b.augment, "moves_targets", False)
    assert b.train.y.shape == (4, 6, 8)
