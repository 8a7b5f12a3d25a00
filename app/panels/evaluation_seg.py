"""The evaluation panel's segmentation section: per-class IoU and Dice, the confusion
matrix over pixels, and a gallery of image / truth / prediction overlays, worst image
first (lowest IoU). Clicking a matrix cell shows the images with most pixels of that
confusion instead.

It shows an :class:`app.panels.run_results.Evaluation` of kind "segmentation": ``true``
and ``pred`` hold uint8 masks [H, W], ``image_scores`` the per-image IoU, ``images`` the
pictures (uint8), ``metrics`` the task's evaluate() figures.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.panels.evaluation_views import (
    ConfusionMatrixView,
    MetricsTable,
    compact_count,
    content_width,
)
from app.panels.run_results import Evaluation
from app.panels.vision_draw import GAP, IGNORE, IGNORE_COLOR, MaskPalette, scaled_pixmap, triptych
from app.panels.vision_views import GALLERY_SHOWN, Legend, PictureGallery
from app.widgets.labels import plain_label

THUMB = 96  # each of the three pictures of a sample, in pixels


def _column(layout_parent: QWidget, *widgets: QWidget, stretch_last: bool = True) -> None:
    lay = QVBoxLayout(layout_parent)
    lay.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        lay.addWidget(w, 1 if stretch_last and i == len(widgets) - 1 else 0)


def _iou_key(score: Any) -> float:
    """Sort key of an image's IoU: lowest first, an image with none (nothing to score)
    last."""
    try:
        v = float(score)
    except (TypeError, ValueError):
        return math.inf
    return v if math.isfinite(v) else math.inf


def headline(metrics: dict[str, Any]) -> str:
    """The three summary figures, a line each."""
    def fig(key: str) -> str:
        v = _iou_key(metrics.get(key))
        return f"{v:.3f}" if math.isfinite(v) else "–"
    return (f"mIoU {fig('miou')}\npixel accuracy {fig('pixel_accuracy')}\n"
            f"mean Dice {fig('mean_dice')}")


class SegmentationSection(QSplitter):
    """Per-class table | pixel confusion matrix | overlay gallery. ``order`` is the split
    positions in the gallery's order (all of them, not only the pictures drawn)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.result: Evaluation | None = None
        self.palette_: MaskPalette | None = None
        self.order: list[int] = []
        self.headline = plain_label()
        self.table = MetricsTable()
        self.matrix = ConfusionMatrixView()
        self.matrix.setToolTip("Pixels. Rows: true class. Columns: predicted class. Click a "
                               "cell to see the images with most such pixels.")
        self.legend = Legend()
        self.gallery = PictureGallery()
        self.gallery.set_picture_size(3 * THUMB + 2 * GAP, THUMB)
        self.gallery_title = plain_label()
        self.all_button = QPushButton("Worst first")
        self.all_button.setToolTip("Show every image again, lowest IoU first")
        self.all_button.hide()
        left, middle, right = QWidget(), QWidget(), QWidget()
        self.table_box, self.gallery_box = left, right
        _column(left, self.headline, plain_label("IoU and Dice per class", wrap=False),
                self.table)
        _column(middle, plain_label("Confusion matrix over pixels (rows: true, columns: "
                                    "predicted; click a cell)"), self.matrix)
        head = QWidget()
        hl = QHBoxLayout(head)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.gallery_title, 1)
        hl.addWidget(self.all_button)
        _column(right, head, plain_label("Each sample: image · truth · prediction", role="muted"),
                self.legend, self.gallery)
        for w in (left, middle, right):
            self.addWidget(w)
        self.setChildrenCollapsible(False)
        for index, stretch in ((0, 0), (1, 0), (2, 1)):
            self.setStretchFactor(index, stretch)
        self.matrix.cell_chosen.connect(self._on_matrix_cell_chosen)
        self.all_button.clicked.connect(self._on_all_button_clicked)

    def show_result(self, r: Evaluation) -> None:
        """Fill every view from a segmentation evaluation."""
        self.result = r
        self.gallery.clear_all()  # its rows show another result's pictures
        m = r.metrics
        classes = r.classes
        self.headline.setText(headline(m))
        self.table.show_per_class(
            {"IoU": m.get("iou_per_class") or [], "Dice": m.get("dice_per_class") or [],
             "Pixels": [sum(row) for row in m.get("confusion_matrix") or []]},
            classes, {"IoU": m.get("miou"), "Dice": m.get("mean_dice")})
        self.matrix.show_matrix(m.get("confusion_matrix") or [], classes, compact_count)
        self.palette_ = MaskPalette(classes)
        entries = [(n, c, False) for n, c in self.palette_.legend()]
        if any(np.any(np.asarray(t) == IGNORE) for t in r.true[:GALLERY_SHOWN]):
            entries.append(("ignored", QColor(IGNORE_COLOR).darker(115), False))
        self.legend.set_entries(entries)
        self.show_worst_first()
        self.table_box.setMinimumWidth(content_width(self.table))
        QTimer.singleShot(0, self, self._size_columns)  # laid out; not once deleted

    def _size_columns(self) -> None:
        """The table as wide as it needs, the gallery one picture wide at least, the matrix
        what it needs of the rest (it scrolls), the gallery the rest."""
        total = sum(self.sizes())
        table = content_width(self.table)
        gallery = self.gallery_box.minimumSizeHint().width()
        matrix = min(content_width(self.matrix), max(total - table - gallery, 200))
        self.setSizes([table, matrix, max(gallery, total - table - matrix)])

    def show_worst_first(self) -> None:
        """Every image, lowest IoU first."""
        r = self.result
        if r is None:
            return
        n = min(len(r.images), len(r.true), len(r.pred))
        scores = list(r.image_scores) + [math.nan] * max(0, n - len(r.image_scores))
        self.order = sorted(range(n), key=lambda i: (_iou_key(scores[i]), i))
        self.all_button.hide()
        shown = min(n, GALLERY_SHOWN)
        self.gallery_title.setText(f"Worst first by image IoU: {shown} of {n} images"
                                   if n else "No images to show.")
        self._fill()

    def show_cell(self, true: int, predicted: int) -> list[int]:
        """The images with pixels of class ``true`` predicted as ``predicted``, most such
        pixels first; returns their split positions."""
        r = self.result
        if r is None or not (0 <= true < len(r.classes) and 0 <= predicted < len(r.classes)):
            return []
        n = min(len(r.images), len(r.true), len(r.pred))
        counts = [int(np.count_nonzero((np.asarray(r.true[i]) == true)
                                       & (np.asarray(r.pred[i]) == predicted))) for i in range(n)]
        self.order = sorted((i for i in range(n) if counts[i]), key=lambda i: (-counts[i], i))
        self.gallery_title.setText(f"True {r.classes[true]}, predicted {r.classes[predicted]}: "
                                   f"{len(self.order)} images (most such pixels first)")
        self.all_button.show()
        self._fill()
        return list(self.order)

    def clear_all(self) -> None:
        """Nothing shown (no run)."""
        self.result, self.palette_, self.order = None, None, []
        self.headline.clear()
        self.table.clear_all()
        self.table_box.setMinimumWidth(0)
        self.matrix.clear_all()
        self.legend.clear_all()
        self.gallery.clear_all()
        self.gallery_title.clear()
        self.all_button.hide()

    def _fill(self) -> None:
        r, pal = self.result, self.palette_
        assert r is not None and pal is not None
        pictures = []
        width = 3 * THUMB + 2 * GAP
        for i in self.order[:GALLERY_SHOWN]:
            pix = scaled_pixmap(triptych(r.images[i], r.true[i], r.pred[i], pal), width, THUMB)
            score = _iou_key(r.image_scores[i] if i < len(r.image_scores) else None)
            iou = f"IoU {score:.3f}" if math.isfinite(score) else "IoU –"
            pictures.append((i, 0, pix, f"#{i} · {iou}",
                             f"sample {i} of the split\nimage {iou}\n"
                             "left: image, middle: truth, right: prediction"))
        self.gallery.set_pictures(pictures)

    def _on_matrix_cell_chosen(self, true: int, predicted: int) -> None:
        self.show_cell(true, predicted)

    def _on_all_button_clicked(self) -> None:
        self.show_worst_first()
