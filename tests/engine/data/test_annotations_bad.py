"""Bad annotations, as real broken files, in both modes: "stop" raises a DataError naming
the file, the entry and the way out; "skip" leaves the entry out and counts it. Malformed
files never raise anything but DataError."""

import json
import random

import numpy as np
import pytest

from engine.data import DataError, load_dataset
from engine.data.annotations import summary
from engine.project import DatasetSpec
from tests.engine.data import annotation_files as af


def spec(source, path, mode, **kw) -> DatasetSpec:
    kw.setdefault("val_fraction", 0.0)
    return DatasetSpec(source=source, path=str(path), normalize=False, bad_entries=mode, **kw)


def stopped(source, path, *needles, **kw) -> str:
    """Loading in stop mode fails with a message holding every needle and the way out."""
    with pytest.raises(DataError) as info:
        load_dataset(spec(source, path, "stop", **kw))
    msg = str(info.value)
    for needle in needles:
        assert str(needle) in msg, msg
    assert "set Bad annotations (dataset.bad_entries) to Skip" in msg
    return msg


def skipped(source, path, count, **kw):
    """Loading in skip mode works; the summary counts ``count`` skipped entries."""
    b = load_dataset(spec(source, path, "skip", **kw))
    assert b.summary["skipped"] == count and len(b.summary["problems"]) == min(count, 20)
    assert summary(spec(source, path, "skip", **kw))["skipped"] == count
    return b


# --- detection: COCO ---------------------------------------------------------------------


def coco_set(tmp_path, annotations, images=None):
    for k in range(2):
        af.image(tmp_path / "images" / f"p{k}.png", (10, 8), value=k)
    images = images or [af.coco_image(10, "p0.png", (10, 8)), af.coco_image(11, "p1.png", (10, 8))]
    path = af.coco(tmp_path / "annotations" / "instances.json", images, annotations)
    return tmp_path / "images", path


GOOD = {"image_id": 10, "category_id": 1, "bbox": [1, 1, 2, 2]}


@pytest.mark.parametrize(("bad", "needle"), [
    ({"image_id": 11, "category_id": 1, "bbox": [6, 6, 8, 8]}, "lies outside the 10x8 image"),
    ({"image_id": 11, "category_id": 1, "bbox": [-3, 0, 2, 2]}, "lies outside"),
    ({"image_id": 11, "category_id": 1, "bbox": [2, 2, 0, 3]}, "has zero size"),
    ({"image_id": 11, "category_id": 99, "bbox": [1, 1, 2, 2]}, "category_id 99 is not in the categories"),
    ({"image_id": 12, "category_id": 1, "bbox": [1, 1, 2, 2]}, "image_id 12 is not in the images list"),
    ({"image_id": 11, "category_id": 1, "bbox": [1, "a", 2, 2]}, "'bbox' must be [x, y, width, height]"),
])
def test_bad_coco_box_in_both_modes(tmp_path, bad, needle):
    images, path = coco_set(tmp_path, [dict(GOOD), bad])
    stopped("detection", images, path, "annotation 2", needle)
    b = skipped("detection", images, 1)
    assert b.train.y[0, 0].tolist() == [0, 1, 1, 3, 3]  # the good box stays
    assert (b.train.y[1] == -1).all()
    assert needle in b.summary["problems"][0] and "annotation 2" in b.summary["problems"][0]


def test_box_sticking_out_by_under_a_pixel_is_clipped(tmp_path):
    images, _ = coco_set(tmp_path, [{"image_id": 10, "category_id": 1, "bbox": [-0.5, 0, 10.8, 8]}])
    b = load_dataset(spec("detection", images, "stop"))
    assert b.train.y[0, 0].tolist() == [0, 0, 0, 10, 8]


def test_missing_coco_image_file(tmp_path):
    images, path = coco_set(tmp_path, [dict(GOOD)], images=[
        af.coco_image(10, "p0.png", (10, 8)), af.coco_image(11, "gone.png", (10, 8))])
    stopped("detection", images, path, "image 11 ('gone.png')", "no such image file")
    assert len(skipped("detection", images, 1).train) == 1


def test_coco_size_unlike_the_image(tmp_path):
    images, path = coco_set(tmp_path, [dict(GOOD)], images=[
        af.coco_image(10, "p0.png", (10, 8)), af.coco_image(11, "p1.png", (20, 16))])
    stopped("detection", images, path, "image 11 ('p1.png')", "declares a 20x16 image but p1.png is 10x8")
    assert len(skipped("detection", images, 1).train) == 1


def test_damaged_image_file(tmp_path):
    images, _ = coco_set(tmp_path, [dict(GOOD)])
    (images / "p1.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    stopped("detection", images, images / "p1.png", "the image", "cannot read this image")
    assert len(skipped("detection", images, 1).train) == 1


def test_unreadable_coco_json_names_the_line(tmp_path):
    images, path = coco_set(tmp_path, [dict(GOOD)])
    path.write_text('{"images": [\n  {"id": 1,,}\n]}')
    with pytest.raises(DataError, match=r"instances.json: line 2: not valid JSON"):
        load_dataset(spec("detection", images, "skip"))


# --- detection: VOC and YOLO --------------------------------------------------------------


def voc_set(tmp_path, objects, labels=None):
    af.image(tmp_path / "JPEGImages" / "a.jpg", (10, 8))
    af.image(tmp_path / "JPEGImages" / "b.jpg", (10, 8))
    af.voc_xml(tmp_path / "Annotations" / "a.xml", "a.jpg", (10, 8), [("cat", 1, 1, 4, 4)])
    path = af.voc_xml(tmp_path / "Annotations" / "b.xml", "b.jpg", (10, 8), objects)
    if labels:
        (tmp_path / "labels.txt").write_text(labels)
    return path


def test_voc_unknown_class_and_box_outside(tmp_path):
    path = voc_set(tmp_path, [("cat", 2, 2, 4, 4), ("emu", 1, 1, 3, 3), ("cat", 5, 5, 30, 6)],
                   labels="cat\ndog\n")
    stopped("detection", tmp_path, path, "object 2 ('emu')", "the class 'emu' is not in")
    b = skipped("detection", tmp_path, 2)
    assert "object 3 ('cat')" in b.summary["problems"][1]
    assert b.train.y[1].tolist() == [[0, 1, 1, 4, 4]]


def test_voc_broken_xml_names_the_line_and_skips_the_file(tmp_path):
    path = voc_set(tmp_path, [])
    path.write_text("<annotation>\n<filename>b.jpg</filename>\n<object><name>cat</name>\n</annotation>")
    stopped("detection", tmp_path, path, "line 4", "not valid XML")
    assert len(skipped("detection", tmp_path, 1).train) == 1


def test_voc_missing_image_and_missing_coordinates(tmp_path):
    path = voc_set(tmp_path, [])
    path.write_text("<annotation><filename>zz.jpg</filename><object><name>cat</name>"
                    "<bndbox><xmin>1</xmin></bndbox></object></annotation>")
    (tmp_path / "JPEGImages" / "b.jpg").rename(tmp_path / "b.aside")  # no image named like the XML
    stopped("detection", tmp_path, path, "<filename>", "no image 'zz.jpg'")
    (tmp_path / "b.aside").rename(tmp_path / "JPEGImages" / "b.jpg")
    path.write_text("<annotation><filename>b.jpg</filename><object><name>cat</name>"
                    "<bndbox><xmin>1</xmin></bndbox></object></annotation>")
    stopped("detection", tmp_path, path, "object 1 ('cat')", "needs xmin, ymin, xmax and ymax")


def yolo_set(tmp_path, lines):
    af.image(tmp_path / "images" / "a.png", (10, 8))
    af.image(tmp_path / "images" / "b.png", (10, 8))
    af.yolo_txt(tmp_path / "labels" / "a.txt", [(0, 0.5, 0.5, 0.2, 0.25)])
    path = tmp_path / "labels" / "b.txt"
    path.write_text("\n".join(lines) + "\n")
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    return path


@pytest.mark.parametrize(("line", "needle"), [
    ("0 0.5 0.5 0.2", "is not 'class cx cy w h'"),
    ("cat 0.5 0.5 0.2 0.2", "is not 'class cx cy w h'"),
    ("1.5 0.5 0.5 0.2 0.2", "not a whole number"),
    ("7 0.5 0.5 0.2 0.2", "the class id 7 is unknown (the classes file names 2 classes)"),
    ("0 0.9 0.5 0.6 0.2", "lies outside"),
    ("0 0.5 0.5 0 0.2", "has zero size"),
])
def test_bad_yolo_line_in_both_modes(tmp_path, line, needle):
    path = yolo_set(tmp_path, ["1 0.5 0.5 0.2 0.25", line])
    stopped("detection", tmp_path, path, "line 2", needle)
    b = skipped("detection", tmp_path, 1)
    assert b.train.y[1].tolist() == [[1, 4, 3, 6, 5]]


def test_yolo_labels_file_without_an_image(tmp_path):
    yolo_set(tmp_path, [])
    orphan = af.yolo_txt(tmp_path / "labels" / "c.txt", [(0, 0.5, 0.5, 0.1, 0.1)])
    stopped("detection", tmp_path, orphan, "the file", "no image c.*")
    assert len(skipped("detection", tmp_path, 1).train) == 2


def test_summary_lists_the_first_twenty_problems_and_counts_all(tmp_path):
    path = yolo_set(tmp_path, ["9 0.5 0.5 0.1 0.1" for _ in range(25)])
    b = skipped("detection", tmp_path, 25)
    assert b.summary["problems"][19].startswith(f"{path}: line 20:")


def test_everything_skipped_is_a_clear_error(tmp_path):
    images, _ = coco_set(tmp_path, [], images=[af.coco_image(1, "x.png"), af.coco_image(2, "y.png")])
    with pytest.raises(DataError, match="no usable images; 2 bad annotations were skipped"):
        load_dataset(spec("detection", images, "skip"))


# --- segmentation -----------------------------------------------------------------------


def seg_set(tmp_path, labels="background\ncat\ndog\n"):
    images = af.seg_folder(tmp_path, n=3)
    if labels:
        (tmp_path / "labels.txt").write_text(labels)
    return images


def test_mask_of_another_size(tmp_path):
    images = seg_set(tmp_path)
    bad = af.mask(tmp_path / "masks" / "img1.png", np.zeros((4, 4)))
    stopped("segmentation", images, bad, "the mask", "the mask is 4x4 but its image img1.png is 8x6")
    assert len(skipped("segmentation", images, 1).train) == 2


def test_mask_value_with_no_class(tmp_path):
    images = seg_set(tmp_path)
    values = af.seg_values(2)
    values[3, 3] = 7
    bad = af.mask(tmp_path / "masks" / "img2.png", values)
    stopped("segmentation", images, bad, "the mask", "1 pixels hold values 7", "values 0-2")
    b = skipped("segmentation", images, 1)
    assert len(b.train) == 2 and int(b.train.y.max()) == 255


def test_colour_mask_with_a_colour_of_no_class(tmp_path):
    images = af.seg_folder(tmp_path, n=2, mode="RGB")
    (tmp_path / "labels.txt").write_text("background 0 0 0\ncat 255 0 0\ndog 0 255 0\n")
    stopped("segmentation", images, tmp_path / "masks" / "img0.png", "colours that no class has")


def test_missing_mask_and_mask_without_image(tmp_path):
    images = seg_set(tmp_path)
    (tmp_path / "masks" / "img1.png").unlink()
    stopped("segmentation", images, images / "img1.png", "its mask", "no mask img1.png")
    orphan = af.mask(tmp_path / "masks" / "stray.png", np.zeros((6, 8)))
    (tmp_path / "images" / "img1.png").unlink()
    stopped("segmentation", images, orphan, "the mask", "no image with this name")
    assert len(skipped("segmentation", images, 1).train) == 2


def test_damaged_mask_file(tmp_path):
    images = seg_set(tmp_path, labels=None)
    bad = tmp_path / "masks" / "img0.png"
    bad.write_bytes(b"garbage")
    stopped("segmentation", images, bad, "the mask", "cannot read this mask")
    assert len(skipped("segmentation", images, 1).train) == 2


@pytest.mark.parametrize(("bad", "needle"), [
    ({"category_id": 42, "segmentation": [[0, 0, 2, 0, 2, 2]]}, "category_id 42"),
    ({"category_id": 1, "segmentation": [[0, 0, 2, 0]]}, "at least three points"),
    ({"category_id": 1, "bbox": [0, 0, 2, 2]}, "no 'segmentation' polygons or RLE"),
    ({"category_id": 1, "segmentation": {"counts": [1, 2], "size": [3, 3]}}, "the RLE is 3x3 but the image is 8x6"),
    ({"category_id": 1, "segmentation": {"counts": "%%%", "size": [6, 8]}}, "the RLE cannot be decoded"),
])
def test_bad_coco_segmentation_in_both_modes(tmp_path, bad, needle):
    af.image(tmp_path / "images" / "p.png")
    good = {"image_id": 1, "category_id": 3, "segmentation": [[0, 0, 3, 0, 3, 3, 0, 3]]}
    path = af.coco(tmp_path / "annotations" / "seg.json", [af.coco_image(1, "p.png")],
                   [good, dict(bad, image_id=1)])
    stopped("segmentation", tmp_path / "images", path, "annotation 2", needle)
    b = skipped("segmentation", tmp_path / "images", 1)
    assert int((b.train.y[0] == 2).sum()) == 16 and int((b.train.y[0] == 1).sum()) == 0


# --- malformed files never crash -----------------------------------------------------------


def _mutations(text: str, seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            action = rng.choice(["drop", "dup", "swap", "cut"])
            if action == "drop":
                del chars[at]
            elif action == "dup":
                chars.insert(at, chars[at])
            elif action == "swap":
                chars[at] = rng.choice('{}[]",:0-9aZ<>/ \n\x00é')
            else:
                chars = chars[:at]
            if not chars:
                break
        out.append("".join(chars))
    return out


def _only_data_errors(source, images, mode="skip"):
    for m in ("stop", mode):
        try:
            load_dataset(spec(source, images, m))
        except DataError:
            pass


def test_mutated_coco_voc_and_yolo_files_raise_only_data_errors(tmp_path):
    images, path = coco_set(tmp_path / "coco", [dict(GOOD), {"image_id": 11, "category_id": 3,
                                                             "bbox": [0, 0, 5, 5]}])
    text = path.read_text()
    for mutated in _mutations(text, 1, 40) + [json.dumps({"images": "x"}), "[]", "null", "1e999"]:
        path.write_text(mutated)
        _only_data_errors("detection", images)
    xml = voc_set(tmp_path / "voc", [("cat", 2, 2, 4, 4), ("dog", 1, 1, 9, 7)])
    text = xml.read_text()
    for mutated in _mutations(text, 2, 40) + ["<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;&a;</x>"]:
        xml.write_text(mutated)
        _only_data_errors("detection", tmp_path / "voc")
    txt = yolo_set(tmp_path / "yolo", ["0 0.5 0.5 0.2 0.2", "1 0.1 0.1 0.05 0.05"])
    text = txt.read_text()
    for mutated in _mutations(text, 3, 40) + ["1e400 nan inf -0 5", "\x00\x00"]:
        txt.write_text(mutated)
        _only_data_errors("detection", tmp_path / "yolo")


def test_mutated_masks_and_labels_files_raise_only_data_errors(tmp_path):
    images = seg_set(tmp_path)
    mask = tmp_path / "masks" / "img1.png"
    data = mask.read_bytes()
    rng = random.Random(4)
    for _ in range(20):
        cut = bytearray(data[: rng.randrange(1, len(data))])
        if cut and rng.random() < 0.5:
            cut[rng.randrange(len(cut))] ^= 0xFF
        mask.write_bytes(bytes(cut))
        _only_data_errors("segmentation", images)
    mask.write_bytes(data)
    labels = tmp_path / "labels.txt"
    for text in ["", "\n\n# only a comment\n", "a 1 2 3\nb\n", "a\na\n", "x 1 1 1\ny 1 1 1\n",
                 b"\xff\xfe bad".decode("latin-1")]:
        labels.write_text(text)
        _only_data_errors("segmentation", images)
