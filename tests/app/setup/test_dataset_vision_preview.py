"""The dataset panel previews segmentation and detection data: the import summary and
samples for the built-in scene sets and for files, the engine's message for bad data, and
never a result loaded for a dataset that has since changed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.app.setup.conftest import load_preview, set_dataset


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def _coco_set(root, boxes: list[tuple[int, int, list[float]]]) -> None:
    """Three 32x32 images and a COCO file of ``(image id, category id, [x, y, w, h])``."""
    (root / "images").mkdir()
    (root / "annotations").mkdir()
    images = []
    for i, name in enumerate(["a.png", "b.png", "c.png"], start=1):
        Image.new("RGB", (32, 32), (40 * i, 90, 160)).save(root / "images" / name)
        images.append({"id": i, "file_name": name, "width": 32, "height": 32})
    anns = [{"id": k + 1, "image_id": img, "category_id": cat, "bbox": bbox,
             "area": bbox[2] * bbox[3], "iscrowd": 0}
            for k, (img, cat, bbox) in enumerate(boxes)]
    coco = {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}
    (root / "annotations" / "instances.json").write_text(json.dumps(coco), encoding="utf-8")


@pytest.mark.parametrize(("name", "target"), [("shapes_seg", "mask"), ("shapes_det", "boxes")])
def test_a_built_in_scene_set_shows_its_summary_and_annotated_samples(panel, qtbot, name,
                                                                      target):
    set_dataset(panel, source="builtin", name=name, samples=200, val_fraction=0.25)
    load_preview(panel, qtbot)
    view = panel.view.vision
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert view.isVisibleTo(panel) and not panel.gallery.isVisibleTo(panel)
    assert view.data.target == target
    assert "Images: 200" in view.facts.text()
    assert view.gallery.count() == len(view.data.samples) > 0
    shapes = {"circle", "square", "triangle", "cross", "star", "ring"}
    assert set(view.legend.entries) == shapes
    assert {n for n, _ in view.class_bars.items} >= shapes
    assert panel.preview.train_size == 150  # data_loaded gives the train split's size
    if target == "boxes":
        assert view.size_bars.items and view.size_bars.isVisibleTo(panel)
        assert any(s.boxes for s in view.data.samples)
    else:
        assert all(s.mask is not None for s in view.data.samples)


def test_detection_files_show_boxes_per_class_and_images_without_boxes(panel, qtbot,
                                                                       tmp_path):
    _coco_set(tmp_path, [(1, 1, [2, 2, 10, 12]), (1, 2, [14, 10, 16, 16]),
                         (2, 1, [4, 4, 20, 20])])
    set_dataset(panel, source="detection", path=str(tmp_path / "images"))
    load_preview(panel, qtbot)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    view = panel.view.vision
    assert view.class_bars.items == [("cat", 2), ("dog", 1)]
    assert "Annotations: annotations/instances.json (COCO JSON)" in view.facts.text()
    assert "Images without boxes: 1" in view.facts.text()
    assert "Entries skipped: none" in view.facts.text()


def test_a_bad_box_stops_with_the_engines_message_or_is_skipped_and_listed(panel, qtbot,
                                                                          tmp_path):
    _coco_set(tmp_path, [(1, 1, [2, 2, 10, 12]), (2, 2, [20, 20, 30, 30])])  # past the edge
    set_dataset(panel, source="detection", path=str(tmp_path / "images"))
    load_preview(panel, qtbot)
    text = panel.error.text()
    assert panel.error.isVisibleTo(panel) and "instances.json" in text
    assert "Traceback" not in text and "skip" in text.lower()
    assert not panel.view.vision.isVisibleTo(panel)
    assert panel.document.project.dataset.path == str(tmp_path / "images")  # nothing lost
    set_dataset(panel, bad_entries="skip")
    load_preview(panel, qtbot)
    view = panel.view.vision
    assert not panel.error.isVisibleTo(panel)
    assert "Entries skipped: 1" in view.facts.text()
    assert view.problems.isVisibleTo(panel) and "instances.json" in view.problems.toPlainText()


def test_segmentation_masks_with_a_labels_file(panel, qtbot, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (16, 16), (200, 200, 200)).save(tmp_path / "images" / f"{name}.png")
        mask = np.zeros((16, 16), np.uint8)
        mask[:, 8:] = 1
        mask[12:, :4] = 2
        Image.fromarray(mask, mode="L").save(tmp_path / "masks" / f"{name}.png")
    (tmp_path / "classes.txt").write_text("background\nroad\ncar\n", encoding="utf-8")
    set_dataset(panel, source="segmentation", path=str(tmp_path / "images"),
         labels=str(tmp_path / "classes.txt"), val_fraction=0.5)
    load_preview(panel, qtbot)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    view = panel.view.vision
    shares = dict(view.class_bars.items)
    assert shares == pytest.approx({"background": 43.8, "road": 50.0, "car": 6.2}, abs=0.11)
    assert view.legend.entries == ["road", "car"]
    assert view.gallery.count() == 2


def test_a_missing_folder_is_named_and_a_stale_preview_never_shows(panel, qtbot, tmp_path):
    set_dataset(panel, source="segmentation", path=str(tmp_path / "nowhere"))
    load_preview(panel, qtbot)
    assert "nowhere" in panel.error.text() and "Traceback" not in panel.error.text()
    # a preview still loading when the dataset changes is dropped, not shown
    set_dataset(panel, source="builtin", name="shapes_det", samples=100)
    panel.refresh_preview()
    set_dataset(panel, source="detection", path="")
    panel.refresh_preview()  # the debounce's call: nothing to load yet
    panel.loader.wait()
    assert panel.error.text() == "Choose the images folder."
    assert panel.preview is None and not panel.view.vision.isVisibleTo(panel)
