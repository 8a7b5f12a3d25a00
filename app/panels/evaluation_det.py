"""The evaluation panel's detection section: COCO mAP figures and AP per class, the
precision-recall curve of each class, and a gallery whose boxes follow a confidence
threshold the user slides: true positives, false positives and misses in three colours,
the images with most errors first.

It shows an :class:`app.panels.run_results.Evaluation` of kind "detection": ``true`` holds
each image's true boxes (rows class, x0, y0, x1, y1; rows of class -1 are padding),
``pred`` each image's predictions (dicts of boxes, scores, labels), ``images`` the pictures
and ``matches`` their matching (:class:`Matches`, computed here when absent).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget

from app.panels.detection_match import MATCH_IOU, Matches, prediction_arrays, true_boxes
from app.panels.evaluation_views import MetricsTable, content_width
from app.panels.run_results import Evaluation
from app.panels.vision_draw import (
    OUTCOME_NAMES,
    OUTCOME_STYLE,
    class_colors,
    draw_boxes,
    scaled_pixmap,
)
from app.panels.vision_views import GALLERY_SHOWN, Legend, PictureGallery
from app.widgets.labels import plain_label
from app.widgets.plot_style import style_plot

THUMB = 128
DEFAULT_THRESHOLD = 0.3
SLIDER_STEPS = 100  # the threshold moves in hundredths
TIP_LINES = 20  # boxes listed in a picture's tooltip


def _figure(metrics: dict[str, Any], key: str) -> str:
    v = metrics.get(key)
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    return f"{v:.3f}" if ok else "–"


def _ap(values: Any) -> list[float | None]:
    """Per-class APs with COCO's -1 (a class with no true box) as missing."""
    out: list[float | None] = []
    for v in values or []:
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        out.append(float(v) if ok and v >= 0 else None)
    return out


def headline(metrics: dict[str, Any]) -> str:
    """The three COCO figures, a line each."""
    return (f"mAP@[.5:.95] {_figure(metrics, 'map')}\nmAP@.5 {_figure(metrics, 'map50')}\n"
            f"mAP@.75 {_figure(metrics, 'map75')}")


class DetectionSection(QSplitter):
    """AP table | precision-recall curves | threshold and gallery. ``order`` is the split
    positions in the gallery's order at the current threshold (all of them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.result: Evaluation | None = None
        self.matches: Matches | None = None
        self.order: list[int] = []
        self._bases: dict[int, tuple[QPixmap, float]] = {}
        #: image -> (predictions kept, picture, its boxes listed): the kept predictions are
        #: the best-scored ones, so their count says whether a picture must be redrawn
        self._drawn: dict[int, tuple[int, QPixmap, str]] = {}
        self.headline = plain_label()
        self.table = MetricsTable()
        self.pr_plot = pg.PlotWidget(enableMenu=False)  # its title is a label above: a long title in the
        # plot's own layout would set a minimum width the view then clips
        self.pr_plot.setLabel("bottom", "recall")
        self.pr_plot.setLabel("left", "precision")
        self.pr_plot.setMenuEnabled(False)
        self.pr_plot.setMouseEnabled(x=False, y=False)
        self.pr_plot.setXRange(0, 1, padding=0.02)
        self.pr_plot.setYRange(0, 1, padding=0.02)
        self.pr_plot.setMinimumSize(260, 220)
        # bottom left: a precision-recall curve starts high at low recall
        self.pr_legend = self.pr_plot.addLegend(offset=(10, -10))
        self.restyle()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setPageStep(5)
        self.slider.setValue(round(DEFAULT_THRESHOLD * SLIDER_STEPS))
        self.slider.setToolTip("Predictions scored below the threshold are left out")
        self.slider_value = QLabel()
        self.totals_label = plain_label()
        self.legend = Legend()
        self.legend.set_entries([(OUTCOME_NAMES[k], QColor(c), dashed)
                                 for k, (c, dashed) in OUTCOME_STYLE.items()])
        self.gallery = PictureGallery()
        self.gallery.set_picture_size(THUMB, THUMB)
        self.gallery_title = plain_label()
        self._build_layout()
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self._show_threshold_value()

    def _build_layout(self) -> None:
        left, right = QWidget(), QWidget()
        self.table_box = left
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.headline)
        lv.addWidget(plain_label("Average precision per class", wrap=False))
        lv.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Confidence threshold"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.slider_value)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addLayout(row)
        rv.addWidget(self.totals_label)
        rv.addWidget(self.legend)
        rv.addWidget(self.gallery_title)
        rv.addWidget(self.gallery, 1)
        middle = QWidget()
        mv = QVBoxLayout(middle)
        mv.setContentsMargins(0, 0, 0, 0)
        mv.addWidget(plain_label(f"Precision-recall per class (IoU {MATCH_IOU:g})"))
        mv.addWidget(self.pr_plot, 1)
        for w in (left, middle, right):
            self.addWidget(w)
        self.setChildrenCollapsible(False)
        for index, stretch in ((0, 0), (1, 1), (2, 2)):
            self.setStretchFactor(index, stretch)

    # -- public ------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def set_threshold(self, value: float) -> None:
        """Move the slider (the gallery and counts follow)."""
        self.slider.setValue(round(min(max(value, 0.0), 1.0) * SLIDER_STEPS))

    def show_result(self, r: Evaluation) -> None:
        """Fill every view from a detection evaluation."""
        self.result = r
        self._bases.clear()
        self._drawn.clear()
        self.gallery.clear_all()  # its rows are versions of another result's pictures
        m = r.metrics
        self.headline.setText(headline(m))
        self.table.show_per_class(
            {"AP": _ap(m.get("ap_per_class")), "AP@.5": _ap(m.get("ap50_per_class")),
             "Boxes": self._boxes_per_class(r)},
            r.classes, {"AP": m.get("map"), "AP@.5": m.get("map50")})
        self._plot_pr(m.get("pr_curves") or {}, r.classes, _ap(m.get("ap50_per_class")))
        n = min(len(r.true), len(r.pred))
        self.matches = r.matches if isinstance(r.matches, Matches) else \
            Matches.of(r.true[:n], r.pred[:n])
        self.redraw()
        self.table_box.setMinimumWidth(content_width(self.table))
        QTimer.singleShot(0, self, self._size_columns)  # laid out; not once deleted

    def _size_columns(self) -> None:
        """The table as wide as it needs; the curves 2/5 of the rest, the gallery 3/5."""
        total = sum(self.sizes())
        table = content_width(self.table)
        rest = max(400, total - table)
        self.setSizes([table, rest * 2 // 5, rest * 3 // 5])

    def totals(self) -> tuple[int, int, int]:
        """True positives, false positives and misses over the images at the threshold."""
        if self.matches is None:
            return 0, 0, 0
        tp, fp, miss = self.matches.counts(self.threshold)
        return int(tp.sum()), int(fp.sum()), int(miss.sum())

    def redraw(self) -> None:
        """Counts, order and pictures at the current threshold."""
        r, mt = self.result, self.matches
        if r is None or mt is None:
            return
        tp, fp, miss = mt.counts(self.threshold)
        errors = fp + miss
        # most errors first, then split order
        self.order = np.lexsort((np.arange(len(errors)), -errors)).tolist()
        self.totals_label.setText(f"{int(tp.sum())} true positives · {int(fp.sum())} false "
                                  f"positives · {int(miss.sum())} missed, over {len(errors)} "
                                  "images")
        shown = min(len(self.order), GALLERY_SHOWN)
        self.gallery_title.setText(f"Most errors first: {shown} of {len(self.order)} images"
                                   if self.order else "No images to show.")
        pictures = []
        for i in self.order[:shown]:
            counts = f"TP {tp[i]} · FP {fp[i]} · miss {miss[i]}"
            kept = int(tp[i] + fp[i])
            drawn = self._drawn.get(i)
            if drawn is None or drawn[0] != kept:
                drawn = self._drawn[i] = (kept, *self._picture(i))
            pictures.append((i, kept, drawn[1], counts,
                             f"sample {i} of the split\n{counts}\n{drawn[2]}"))
        self.gallery.set_pictures(pictures)

    def clear_all(self) -> None:
        """Nothing shown (no run)."""
        self.result, self.matches, self.order = None, None, []
        self._bases.clear()
        self._drawn.clear()
        self.headline.clear()
        self.table.clear_all()
        self.table_box.setMinimumWidth(0)
        self.pr_plot.clear()
        self.pr_legend.clear()
        self.gallery.clear_all()
        self.gallery_title.clear()
        self.totals_label.clear()

    def restyle(self) -> None:
        """Follow the palette (a theme change): the plot and its legend."""
        style_plot(self.pr_plot)
        pal = self.palette()
        backdrop = pal.color(QPalette.ColorRole.Base)
        backdrop.setAlpha(210)
        self.pr_legend.setBrush(backdrop)
        self.pr_legend.setLabelTextColor(pal.color(QPalette.ColorRole.Text))
        for _sample, label in self.pr_legend.items:
            label.setText(label.text)  # re-render in the new colour

    # -- internals ---------------------------------------------------------------------
    @staticmethod
    def _boxes_per_class(r: Evaluation) -> list[int]:
        counts = [0] * len(r.classes)
        for y in r.true:
            for c in true_boxes(y)[:, 0].astype(int):
                if 0 <= c < len(counts):
                    counts[c] += 1
        return counts

    def _plot_pr(self, curves: dict[str, Any], classes: list[str],
                 ap50: list[float | None]) -> None:
        self.pr_plot.clear()
        self.pr_legend.clear()
        recall = np.asarray(curves.get("recall") or [], dtype=float)
        colors = class_colors(len(classes))
        for k, precision in enumerate(curves.get("precision") or []):
            p = np.asarray(precision, dtype=float)
            if k >= len(classes) or p.shape != recall.shape or not np.any(p >= 0):
                continue  # a class with no true box has no curve (COCO's -1)
            p = np.where(p >= 0, p, np.nan)
            value = ap50[k] if k < len(ap50) else None
            ap = f" (AP@.5 {value:.2f})" if value is not None else ""
            self.pr_plot.plot(recall, p, pen=pg.mkPen(colors[k], width=2), connect="finite",
                              name=f"{classes[k]}{ap}")

    def _picture(self, i: int) -> tuple[QPixmap, str]:
        """The thumbnail of image ``i`` with its boxes at the threshold, and a tooltip
        listing them."""
        r, mt = self.result, self.matches
        assert r is not None and mt is not None
        if i not in self._bases:
            img = np.asarray(r.images[i]) if i < len(r.images) else np.zeros((THUMB, THUMB),
                                                                               np.uint8)
            base = scaled_pixmap(img, THUMB, THUMB)
            self._bases[i] = (base, base.width() / max(img.shape[1], 1))
        base, scale = self._bases[i]
        truth = true_boxes(r.true[i])
        boxes, scores, labels = prediction_arrays(r.pred[i])
        tp, fp, found = mt.outcome(i, self.threshold)
        drawn: list[tuple[str, tuple[float, float, float, float]]] = []
        lines: list[str] = []
        names = r.classes

        def name(c: int) -> str:
            return names[c] if 0 <= c < len(names) else str(c)

        for t in np.flatnonzero(~found):
            drawn.append(("miss", tuple(truth[t, 1:5])))
            lines.append(f"missed {name(int(truth[t, 0]))}")
        for p in np.flatnonzero(tp | fp):
            outcome = "tp" if tp[p] else "fp"
            drawn.append((outcome, tuple(boxes[p])))
            lines.append(f"{OUTCOME_NAMES[outcome]} {name(int(labels[p]))} {scores[p]:.2f}")
        if len(lines) > TIP_LINES:
            lines[TIP_LINES - 1:] = [f"… and {len(lines) - TIP_LINES + 1} more"]
        return draw_boxes(base, scale, drawn), "\n".join(lines)

    def _show_threshold_value(self) -> None:
        self.slider_value.setText(f"{self.threshold:.2f}")

    def _on_slider_value_changed(self, _value: int) -> None:
        self._show_threshold_value()
        self.redraw()
