"""VisionPreview: what the dataset panel shows of segmentation and detection data.

The import summary first (images, classes, boxes, images without boxes, entries skipped
and the problems, as selectable text), then a grid of samples with their masks or boxes
drawn (with a legend of the class colours), then bars: boxes per class or the share of the
pixels each class covers, and a histogram of box sizes. All of it from a
:class:`dataset_vision.VisionData`; a theme change redraws the pictures.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.panels.dataset_vision import VisionData
from app.panels.dataset_vision_draw import THUMB, sample_picture
from app.panels.vision_draw import MaskPalette, swatch
from app.text import plain_tooltip
from app.widgets.bar_chart import BarChart
from app.widgets.flow_layout import FlowLayout
from app.widgets.labels import plain_label

PROBLEM_LINES = 6  # lines of problems shown before the list scrolls


def summary_lines(data: VisionData) -> list[str]:
    """The import summary's figures, one per line."""
    s = data.summary
    images = int(s.get("images", 0))
    lines = [f"Annotations: {data.found}"] if data.found else []
    lines += [f"Images: {images:,}", f"Classes: {len(data.classes)}"]
    if data.target == "boxes":
        boxes = sum(int(n) for n in s.get("boxes_per_class", []))
        per_image = f" ({boxes / images:.1f} per image)" if images else ""
        lines.append(f"Boxes: {boxes:,}{per_image}")
        lines.append(f"Images without boxes: {int(s.get('images_without_boxes', 0)):,}")
    skipped = int(s.get("skipped", 0))
    lines.append(f"Entries skipped: {skipped:,}" if skipped else "Entries skipped: none")
    return lines


def size_bins(sizes: dict[str, Any] | None) -> list[tuple[str, int]]:
    """The box size histogram as bars: ("8–16 px", count) per bin."""
    if not sizes:
        return []
    edges, counts = list(sizes.get("edges", [])), list(sizes.get("counts", []))
    return [(f"{edges[i]:.0f}–{edges[i + 1]:.0f} px", int(counts[i]))
            for i in range(min(len(counts), len(edges) - 1))]


def class_bars(data: VisionData) -> tuple[str, list[tuple[str, Any]]]:
    """The per-class bars and their title: boxes per class (detection) or the percentage
    of the labelled pixels each class covers (segmentation)."""
    s = data.summary
    if data.target == "boxes":
        counts = s.get("boxes_per_class", [])
        return "Boxes per class", [(n, int(c)) for n, c in zip(data.classes, counts, strict=False)]
    shares = s.get("pixels_per_class", [])
    return ("Pixels per class (% of the labelled pixels)",
            [(n, round(100.0 * float(f), 1)) for n, f in zip(data.classes, shares, strict=False)])


class ClassLegend(QWidget):
    """The class colours: a swatch and its name per class, each pair kept on one line,
    the pairs wrapping onto more lines in a narrow dock."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._flow = FlowLayout(self, spacing=10)
        self._flow.setContentsMargins(0, 0, 0, 0)
        self.entries: list[str] = []

    def set_entries(self, entries: list[tuple[str, QColor]]) -> None:
        while self._flow.count():
            item = self._flow.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        for name, color in entries:
            pair = QWidget()
            row = QHBoxLayout(pair)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            icon = QLabel()
            icon.setPixmap(swatch(color))
            row.addWidget(icon)
            row.addWidget(plain_label(name, wrap=False))
            self._flow.addWidget(pair)
        self.entries = [name for name, _ in entries]
        self.updateGeometry()


class VisionPreview(QWidget):
    """The summary, samples and bars of segmentation or detection data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: VisionData | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.facts = plain_label()
        self.problems_title = plain_label(role="muted")
        self.problems = QPlainTextEdit(readOnly=True)  # selectable, copyable
        self.problems.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        lines = self.problems.fontMetrics().lineSpacing()
        self.problems.setFixedHeight(PROBLEM_LINES * lines + 12)
        self.samples_title = plain_label("Samples", "muted")
        self.legend = ClassLegend()
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setGridSize(QSize(THUMB + 12, THUMB + self.fontMetrics().lineSpacing() + 14))
        self.gallery.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.gallery.installEventFilter(self)  # its height follows its width
        self.classes_title = plain_label(role="muted")
        self.class_bars = BarChart()
        self.sizes_title = plain_label("Box sizes (square root of width × height)", "muted")
        self.size_bars = BarChart()
        for w in (self.facts, self.problems_title, self.problems, self.samples_title,
                  self.legend, self.gallery, self.classes_title, self.class_bars,
                  self.sizes_title, self.size_bars):
            v.addWidget(w)

    def show_data(self, data: VisionData | None) -> None:
        """Show ``data`` (None: nothing)."""
        self.data = data
        self.setVisible(data is not None)
        if data is None:
            self.gallery.clear()
            self.legend.set_entries([])
            return
        s = data.summary
        self.facts.setText("\n".join(summary_lines(data)))
        problems = [str(p) for p in s.get("problems", [])]
        skipped = int(s.get("skipped", 0))
        self.problems_title.setText(
            f"Entries skipped, the first {len(problems)} of {skipped}:"
            if skipped > len(problems) else "Entries skipped:")
        self.problems.setPlainText("\n".join(problems))
        for w in (self.problems_title, self.problems):
            w.setVisible(bool(problems))
        title, bars = class_bars(data)
        self.classes_title.setText(title)
        self.class_bars.set_items(bars)
        sizes = size_bins(s.get("box_sizes"))
        self.size_bars.set_items(sizes)
        for w in (self.sizes_title, self.size_bars):
            w.setVisible(bool(sizes))
        self._draw()

    def _draw(self) -> None:
        data = self.data
        if data is None:
            return
        palette = MaskPalette(data.classes)
        if data.target == "boxes":  # every class is drawn: no background to leave out
            self.legend.set_entries(list(zip(data.classes, palette.colors, strict=False)))
        else:
            self.legend.set_entries(palette.legend())
        self.gallery.clear()
        for sample in data.samples:
            name = str(sample.name)
            item = QListWidgetItem(QIcon(sample_picture(sample, palette)), name)
            item.setToolTip(plain_tooltip(name))
            self.gallery.addItem(item)
        self.samples_title.setVisible(bool(data.samples))
        self.gallery.setVisible(bool(data.samples))
        self._fit_gallery()

    def captions(self) -> list[str]:
        """The samples' names, in the order shown."""
        return [self.gallery.item(i).text() for i in range(self.gallery.count())]

    def _fit_gallery(self) -> None:
        """As tall as its rows at the present width: the panel scrolls, not the grid."""
        grid = self.gallery.gridSize()
        per_row = max(1, (self.gallery.viewport().width() - 4) // max(1, grid.width()))
        rows = -(-self.gallery.count() // per_row)
        self.gallery.setFixedHeight(max(1, rows) * grid.height() + 2 * self.gallery.frameWidth() + 8)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.gallery and event.type() == QEvent.Type.Resize:
            self._fit_gallery()
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._draw()  # a theme change: the halo around boxes and names follows it
