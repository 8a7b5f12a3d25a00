"""The evaluation panel's segmentation and detection sections, fed hand-made evaluations
whose outcomes were worked out by hand (tests/app/setup/vision_evaluations.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.panels.detection_match import Matches, match_image
from app.panels.run_results import Evaluation
from tests.app.setup.vision_evaluations import (
    DET_CLASSES,
    SEG_CLASSES,
    detection_evaluation,
    segmentation_evaluation,
)


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


# -- segmentation ----------------------------------------------------------------------

def test_segmentation_shows_its_figures_per_class_table_and_pixel_matrix(panel):
    r = segmentation_evaluation()
    panel.show_evaluation(r)
    seg = panel.segmentation
    assert seg.isVisibleTo(panel) and not panel.detection.isVisibleTo(panel)
    assert not panel.splitter.isVisibleTo(panel)  # no classification views
    assert seg.headline.text() == "mIoU 0.750\npixel accuracy 0.950\nmean Dice 0.840"
    assert "miou 0.75" in panel.status.text() and "4 images" in panel.status.text()
    table = seg.table
    assert table.value("circle", "IoU") == pytest.approx(0.786)
    assert table.value("circle", "Dice") == pytest.approx(0.88)
    assert table.value("background", "Pixels") == 400
    assert table.value("mean", "IoU") == pytest.approx(0.75)
    assert table.value("mean", "Dice") == pytest.approx(0.84)
    square = [table.verticalHeaderItem(i).text() for i in range(table.rowCount())].index("square")
    assert table.item(square, 0).text() == "–"  # NaN: no square pixels scored
    assert table.value("square", "Dice") is None
    assert seg.matrix.matrix == r.metrics["confusion_matrix"]
    assert seg.matrix.total() == 640


def test_segmentation_gallery_is_worst_first_with_a_class_legend(panel):
    panel.show_evaluation(segmentation_evaluation())
    seg = panel.segmentation
    assert seg.order == [1, 3, 0, 2]  # IoU 0.2, 0.5, 0.9, then the image without one
    assert seg.gallery.indices == [1, 3, 0, 2]
    assert seg.gallery.captions() == ["#1 · IoU 0.200", "#3 · IoU 0.500", "#0 · IoU 0.900",
                                      "#2 · IoU –"]
    # background is not tinted; image 0's truth has an ignored pixel
    assert seg.legend.names() == ["circle", "square", "ignored"]
    icon = seg.gallery.item(0).icon().pixmap(seg.gallery.iconSize())
    assert icon.width() > 2 * icon.height()  # image, truth and prediction side by side
    assert "Worst first" in seg.gallery_title.text() and "4 of 4" in seg.gallery_title.text()


def test_segmentation_overlay_paints_each_class_in_its_legend_colour():
    from app.panels.vision_draw import BASE_GAIN, BASE_LIFT, MASK_ALPHA, MaskPalette, overlay

    pal = MaskPalette(SEG_CLASSES)
    image = np.full((4, 4, 3), 100, np.uint8)
    mask = np.array([[0, 1, 2, 255]] * 4, np.uint8)
    out = overlay(image, mask, pal).astype(float)
    grey = 100 * BASE_GAIN + BASE_LIFT
    assert np.abs(out[:, 0] - grey).max() <= 1  # background: the (dimmed) picture shows
    for k in (1, 2):
        c = pal.colors[k]
        want = grey * (1 - MASK_ALPHA) + np.array([c.red(), c.green(), c.blue()]) * MASK_ALPHA
        assert np.abs(out[0, k] - want).max() <= 1
    assert pal.colors[1] != pal.colors[2]
    assert len({c.name() for c in MaskPalette([str(i) for i in range(30)]).colors}) == 30


def test_clicking_a_pixel_matrix_cell_shows_the_images_with_most_such_pixels(panel, qtbot):
    panel.show_evaluation(segmentation_evaluation())
    seg = panel.segmentation
    m = seg.matrix
    rect = m.visualItemRect(m.item(1, 0))  # true circle, predicted background
    qtbot.mouseClick(m.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert seg.order == [3, 2, 1]  # image i lost i columns of its circle; image 0 none
    assert "True circle, predicted background: 3 images" in seg.gallery_title.text()
    assert seg.all_button.isVisibleTo(panel)
    seg.all_button.click()
    assert seg.order == [1, 3, 0, 2] and not seg.all_button.isVisibleTo(panel)
    assert panel.show_cell(1, 0) == []  # the classification path leaves masks alone


# -- detection -------------------------------------------------------------------------

def test_detection_shows_coco_figures_ap_table_and_one_pr_curve_per_class(panel):
    panel.show_evaluation(detection_evaluation())
    det = panel.detection
    assert det.isVisibleTo(panel) and not panel.segmentation.isVisibleTo(panel)
    assert det.headline.text() == "mAP@[.5:.95] 0.410\nmAP@.5 0.620\nmAP@.75 0.380"
    t = det.table
    assert t.value("circle", "AP") == pytest.approx(0.5)
    assert t.value("square", "AP@.5") == pytest.approx(0.49)
    assert t.value("triangle", "AP") is None  # COCO's -1: no triangle in the split
    assert t.value("mean", "AP") == pytest.approx(0.41)
    assert t.value("mean", "AP@.5") == pytest.approx(0.62)
    assert [t.value(c, "Boxes") for c in DET_CLASSES] == [3, 2, 0]
    curves = det.pr_plot.getPlotItem().listDataItems()
    assert [c.name() for c in curves] == ["circle (AP@.5 0.75)", "square (AP@.5 0.49)"]
    assert [label.text for _, label in det.pr_legend.items] == [c.name() for c in curves]
    x, y = curves[1].getData()
    assert len(x) == 101 and y[0] == pytest.approx(0.8)


def test_the_threshold_slider_recounts_and_resorts_the_gallery(panel):
    panel.show_evaluation(detection_evaluation())
    det = panel.detection
    det.set_threshold(0.3)
    assert det.slider_value.text() == "0.30"
    assert det.totals() == (3, 6, 2)
    assert "3 true positives · 6 false positives · 2 missed" in det.totals_label.text()
    assert det.order == [2, 0, 1, 3]
    assert det.gallery.captions()[:2] == ["TP 0 · FP 1 · miss 2", "TP 2 · FP 2 · miss 0"]
    det.slider.setValue(70)  # as the user's drag does
    assert det.slider_value.text() == "0.70"
    assert det.totals() == (2, 3, 3)
    assert det.order == [2, 1, 0, 3]
    assert det.gallery.indices == [2, 1, 0, 3]
    assert det.gallery.captions() == ["TP 0 · FP 1 · miss 2", "TP 1 · FP 2 · miss 0",
                                      "TP 1 · FP 0 · miss 1", "TP 0 · FP 0 · miss 0"]
    assert "missed square" in det.gallery.item(2).toolTip()
    assert det.legend.names() == ["true positive", "false positive", "missed"]


def test_box_colours_follow_the_outcome():
    from PySide6.QtGui import QColor, QPixmap

    from app.panels.vision_draw import OUTCOME_STYLE, draw_boxes

    base = QPixmap(40, 40)
    base.fill(QColor("black"))
    img = draw_boxes(base, 2.0, [("tp", (1, 1, 5, 5)), ("fp", (10, 10, 15, 15))]).toImage()
    assert img.pixelColor(2, 6).name() == OUTCOME_STYLE["tp"][0]  # left edge at x 2
    assert img.pixelColor(20, 24).name() == OUTCOME_STYLE["fp"][0]
    assert img.pixelColor(6, 6).name() == "#000000"  # inside: the picture


def test_matching_is_greedy_by_score_within_a_class_and_thresholds_are_prefixes():
    truth = np.array([[0, 0, 0, 10, 10], [0, 0, 0, 10, 11]], np.float32)
    boxes = np.array([[0, 0, 10, 11], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    # the best-scored box takes the truth it overlaps most, the next the other one, the
    # third finds none left
    tp, matched = match_image(truth, boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 0]))
    assert tp.tolist() == [True, True, False] and matched.tolist() == [1, 0, -1]
    tp, _ = match_image(truth, boxes, np.array([0.9, 0.8, 0.7]), np.array([1, 1, 0]))
    assert tp.tolist() == [False, False, True]
    r = detection_evaluation()
    m = Matches.of(r.true, r.pred)
    for threshold in (0.0, 0.3, 0.5, 0.7, 0.9, 1.0):
        kept = [{k: [v for v, s in zip(p[k], p["scores"], strict=True) if s >= threshold]
                 for k in ("boxes", "scores", "labels")} for p in r.pred]
        again = Matches.of(r.true, kept).counts(0.0)
        for a, b in zip(m.counts(threshold), again, strict=True):
            assert a.tolist() == b.tolist()


# -- stale views -----------------------------------------------------------------------

def test_nothing_of_a_previous_result_stays(panel):
    panel.show_evaluation(detection_evaluation())
    panel.show_evaluation(segmentation_evaluation())
    assert not panel.detection.isVisibleTo(panel)
    panel.reset()
    det, seg = panel.detection, panel.segmentation
    assert not det.isVisibleTo(panel) and not seg.isVisibleTo(panel)
    assert panel.splitter.isVisibleTo(panel)
    for view in (det.table, seg.table, seg.matrix):
        assert view.rowCount() == 0
    assert det.gallery.count() == seg.gallery.count() == 0
    assert det.order == seg.order == []
    assert det.pr_plot.getPlotItem().listDataItems() == []
    assert det.headline.text() == seg.headline.text() == det.totals_label.text() == ""
    assert seg.legend.names() == []
    assert det.totals() == (0, 0, 0)
    det.set_threshold(0.5)  # nothing to redraw: no error


def test_an_evaluation_without_predictions_shows_its_figures_only(panel):
    r = detection_evaluation()
    empty = Evaluation("run", "val", "detection", r.metrics, classes=r.classes)
    panel.show_evaluation(empty)
    det = panel.detection
    assert det.gallery.count() == 0 and det.totals() == (0, 0, 0)
    assert det.gallery_title.text() == "No images to show."
    s = segmentation_evaluation()
    panel.show_evaluation(Evaluation("run", "val", "segmentation", s.metrics, classes=s.classes))
    assert panel.segmentation.gallery.count() == 0
    assert not math.isnan(panel.segmentation.table.value("mean", "IoU"))


@pytest.mark.parametrize("make", [segmentation_evaluation, detection_evaluation])
def test_another_runs_result_replaces_every_picture(panel, make):
    first, second = make(), make()
    second.images = [255 - img for img in second.images]
    section = panel.segmentation if first.kind == "segmentation" else panel.detection

    def pictures():
        g = section.gallery
        return [g.item(r).icon().pixmap(g.iconSize()).toImage() for r in range(g.count())]

    panel.show_evaluation(first)
    before = pictures()
    panel.show_evaluation(second)
    after = pictures()
    assert len(before) == len(after) == 4
    assert all(a != b for a, b in zip(before, after, strict=True))
