"""What the dataset panel shows of segmentation and detection data: the import summary,
samples with their masks or named boxes drawn in their class colours, and the bars."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtGui import QColor

from app.panels.dataset_vision import VisionData
from app.panels.dataset_vision_draw import sample_picture
from app.panels.dataset_vision_views import VisionPreview
from app.panels.vision_draw import MaskPalette
from app.widgets.plot_style import CLASS_COLORS

DET_SUMMARY = {
    "images": 3, "classes": ["cat", "dog"], "boxes_per_class": [3, 1],
    "images_without_boxes": 1, "box_sizes": {"edges": [0, 8, 16, 32], "counts": [1, 2, 1]},
    "skipped": 2,
    "problems": ["instances.json: annotation 7: box outside image b.png; set "
                 "dataset.bad_entries to skip to leave such entries out",
                 "instances.json: annotation 9: unknown class 12"],
}
SEG_SUMMARY = {"images": 2, "classes": ["background", "road", "car"],
               "pixels_per_class": [0.9, 0.075, 0.025], "skipped": 0, "problems": []}


def _sample(name: str, mask=None, boxes=()) -> SimpleNamespace:
    return SimpleNamespace(image=np.zeros((64, 64, 3), np.uint8), mask=mask,
                           boxes=list(boxes), name=name)


@pytest.fixture
def view(qtbot):
    v = VisionPreview()
    v.resize(420, 900)
    qtbot.addWidget(v)
    v.show()
    return v


def _rgb(image, x: int, y: int) -> tuple[int, int, int]:
    c = QColor(image.pixel(x, y))
    return c.red(), c.green(), c.blue()


def test_boxes_are_drawn_in_their_class_colour_with_the_image_dark_inside(qapp):
    palette = MaskPalette(["cat", "dog"])
    pic = sample_picture(_sample("a", boxes=[(1, 8, 16, 40, 56)]), palette, 128).toImage()
    assert (pic.width(), pic.height()) == (128, 128)  # 64 px drawn at twice the size
    dog = QColor(CLASS_COLORS[1])
    on_left_edge = {_rgb(pic, x, 80) for x in range(14, 19)}  # x0 = 8 image px = 16 px
    assert (dog.red(), dog.green(), dog.blue()) in on_left_edge
    assert _rgb(pic, 48, 80) == (0, 0, 0)  # inside the box: the image itself


def test_a_mask_tints_its_classes_but_not_the_background(qapp):
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 2
    palette = MaskPalette(["background", "road", "car"])
    pic = sample_picture(_sample("m", mask=mask), palette, 128).toImage()
    r0, g0, b0 = _rgb(pic, 10, 10)  # the background: the (black) picture, not tinted
    assert max(r0, g0, b0) - min(r0, g0, b0) <= 2
    r, g, b = _rgb(pic, 100, 10)  # a car pixel: red like the car's colour (#e15759)
    assert QColor(CLASS_COLORS[2]).red() > 200 and r > max(g, b) + 40


def test_detection_summary_problems_and_bars(view):
    samples = [_sample("a.png", boxes=[(0, 1, 1, 20, 20), (1, 30, 30, 60, 60)]),
               _sample("b.png")]
    view.show_data(VisionData("boxes", ["cat", "dog"], DET_SUMMARY, samples))
    text = view.facts.text()
    for line in ("Images: 3", "Classes: 2", "Boxes: 4 (1.3 per image)",
                 "Images without boxes: 1", "Entries skipped: 2"):
        assert line in text
    assert view.problems.isVisibleTo(view) and view.problems.isReadOnly()
    assert "annotation 7" in view.problems.toPlainText()
    assert view.class_bars.items == [("cat", 3), ("dog", 1)]
    assert view.classes_title.text() == "Boxes per class"
    assert view.size_bars.items == [("0–8 px", 1), ("8–16 px", 2), ("16–32 px", 1)]
    assert view.legend.entries == ["cat", "dog"]
    assert view.captions() == ["a.png", "b.png"]
    assert view.gallery.height() >= view.gallery.gridSize().height()


def test_segmentation_summary_shows_pixel_shares_and_no_box_rows(view):
    mask = np.ones((64, 64), np.uint8)
    view.show_data(VisionData("mask", SEG_SUMMARY["classes"], SEG_SUMMARY,
                              [_sample("m.png", mask=mask)]))
    assert "Boxes" not in view.facts.text() and "Entries skipped: none" in view.facts.text()
    assert view.class_bars.items == [("background", 90.0), ("road", 7.5), ("car", 2.5)]
    assert "%" in view.classes_title.text()
    assert not view.size_bars.isVisibleTo(view) and not view.problems.isVisibleTo(view)
    assert view.legend.entries == ["road", "car"]  # the background is not tinted
    view.show_data(None)
    assert not view.isVisible() and view.gallery.count() == 0


def test_box_lines_have_a_halo_in_the_themes_base_colour(qapp):
    """Boxes read on light and dark themes: each line is edged in the palette's base."""
    from PySide6.QtGui import QPalette

    saved = qapp.palette()
    dark = QPalette(saved)
    dark.setColor(QPalette.ColorRole.Base, QColor("#123456"))
    qapp.setPalette(dark)
    try:
        palette = MaskPalette(["cat", "dog"])
        pic = sample_picture(_sample("a", boxes=[(0, 8, 16, 40, 56)]), palette, 128).toImage()
    finally:
        qapp.setPalette(saved)
    beside_the_line = {_rgb(pic, x, 80) for x in (13, 14, 17, 18)}
    assert (0x12, 0x34, 0x56) in beside_the_line
