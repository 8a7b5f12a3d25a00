"""Views of the dataset panel: DataPreview, what it shows of loaded data (a labelled image
grid, a text excerpt, or for tabular data a plot (a scatter of 2-D samples by class, a
histogram of a regression target) with the first rows in a second tab, and the class counts
as bars, all plain text; segmentation and detection data in ``dataset_vision_views``);
and the lists of data set names and of a CSV file's columns."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.dataset_audio_views import AudioPreview
from app.panels.dataset_jobs import Preview
from app.panels.dataset_plot import DataPlot
from app.panels.dataset_text_views import TextPreview
from app.panels.dataset_vision_views import VisionPreview
from app.text import plain_tooltip
from app.widgets.bar_chart import BarChart
from app.widgets.images import pixmap_from_array
from app.widgets.labels import plain_label
from engine.files import read_error_message
from engine.project import DatasetSpec, Graph

THUMB = 56


class DataPreview(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview: Preview | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.status = plain_label(role="muted")
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setGridSize(QSize(THUMB + 24, THUMB + 24))
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setMinimumHeight(2 * (THUMB + 24) + 8)
        self.excerpt = QPlainTextEdit(readOnly=True)
        self.excerpt.setMinimumHeight(140)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(200)
        self.plot = DataPlot()
        # the plot is what a user sees first; the rows stay one click away
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.plot, "Plot")
        self.tabs.addTab(self.table, "Rows")
        self.counts_title = plain_label("Class counts (train split)", "muted")
        self.counts = BarChart()
        self.vision = VisionPreview()  # segmentation and detection data
        self.texts = TextPreview()  # labelled texts and pairs
        self.audio = AudioPreview()  # sound classes and speech
        for w in (self.status, self.vision, self.texts, self.audio, self.gallery, self.excerpt,
                  self.tabs, self.counts_title, self.counts):
            v.addWidget(w)
        self.show_preview(None)

    def show_preview(self, p: Preview | None) -> None:
        self.preview = p
        self.status.setText(p.describe if p else "Load a preview to see samples.")
        self.gallery.clear()
        if p is not None:
            for arr, label in zip(p.images, p.labels, strict=False):
                item = QListWidgetItem(pixmap_from_array(arr, THUMB), label)
                item.setToolTip(plain_tooltip(label) if label else "")
                self.gallery.addItem(item)
        self.gallery.setVisible(bool(p and p.images))
        self.excerpt.setPlainText(p.text if p else "")
        self.excerpt.setVisible(bool(p and p.text))
        self.table.clear()
        rows = p.rows if p else []
        self.table.setColumnCount(len(p.header) if p else 0)
        self.table.setRowCount(len(rows))
        if p is not None:
            self.table.setHorizontalHeaderLabels(p.header)
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(cell))
        self.table.resizeColumnsToContents()
        self._show_plot(p)
        self.tabs.setTabVisible(self.tabs.indexOf(self.table), bool(rows))
        self.tabs.setVisible(bool(rows) or bool(self.plot.shown))
        self.counts.set_items(p.counts if p else [])
        self.counts_title.setVisible(bool(p and p.counts))
        self.counts.setVisible(bool(p and p.counts))
        self.vision.show_data(p.vision if p else None)
        self.texts.show_data(p.texts if p else None)
        self.audio.show_data(p.audio if p else None)

    def shutdown(self) -> None:
        """Stop a clip playing or loading (the panel's shutdown calls it)."""
        self.audio.shutdown()

    def _show_plot(self, p: Preview | None) -> None:
        if p is not None and p.points is not None:
            self.plot.show_points(p.points, p.point_classes, [n for n, _ in p.counts])
        elif p is not None and p.targets is not None:
            self.plot.show_histogram(p.targets)
        else:
            self.plot.clear_plot()
        self.tabs.setTabVisible(self.tabs.indexOf(self.plot), bool(self.plot.shown))
        self.tabs.setCurrentWidget(self.plot if self.plot.shown else self.table)


def fill_names(combo: QComboBox, description: QLabel, names: dict[str, str], current: str) -> None:
    """The data set names (descriptions as tooltips), ``current`` chosen and described."""
    combo.clear()
    for name, text in names.items():
        combo.addItem(name, name)
        combo.setItemData(combo.count() - 1, plain_tooltip(text), Qt.ItemDataRole.ToolTipRole)
    if current and current not in names:
        combo.addItem(current, current)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    text = names.get(current, "" if names else "Loading the list…")
    description.setText(text)
    description.setToolTip(plain_tooltip(text) if text else "")


def fill_targets(combo: QComboBox, path: str, spec: DatasetSpec) -> str:
    """The CSV columns of ``path`` (read from its header) with ``spec.target`` chosen;
    returns a problem for the user, or ""."""
    combo.clear()
    combo.addItem("(last column)", "")
    if not path:
        return ""
    try:
        header = csv_header(path, str(spec.options.get("delimiter", "")))
    except OSError as e:
        return read_error_message(path, e, what="a CSV file")
    for name in header:
        combo.addItem(name, name)
    if spec.target and spec.target not in header:
        combo.addItem(f"{spec.target} (not in the file)", spec.target)
    combo.setCurrentIndex(max(0, combo.findData(spec.target)))
    return ""


def csv_header(path: str, delimiter: str = "") -> list[str]:
    """Column names from the first non-empty line of a CSV file (the delimiter guessed the
    way the engine does when not given)."""
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        for line in f:
            if line.strip():
                break
        else:
            return []
    if not delimiter:
        if Path(path).suffix.lower() in (".tsv", ".tab"):
            delimiter = "\t"
        else:
            counts = {d: line.count(d) for d in (",", ";", "\t")}
            best = max(counts, key=lambda d: counts[d])
            delimiter = best if counts[best] else ","
    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]


def fixed_norm_text(spec: DatasetSpec, graphs: Mapping[str, Graph]) -> str:
    """"Normalised as ResNet-18 expects: mean [...], std [...], 224×224" when the dataset
    has a pretrained backbone's fixed normalisation ("" when it has none)."""
    if spec.mean is None and spec.std is None:
        return ""
    name = "the pretrained backbone"
    for graph_name, g in graphs.items():
        pre = g.preprocess
        if pre is not None and list(pre.mean) == list(spec.mean or []) and (
                list(pre.std) == list(spec.std or [])):
            name = g.info.title if g.info is not None and g.info.title else graph_name
            break

    def floats(values: list[float] | None) -> str:
        return "[" + ", ".join(f"{v:.3f}" for v in values or []) + "]"

    size = f", {spec.image_size}×{spec.image_size}" if spec.image_size else ""
    return f"Normalised as {name} expects: mean {floats(spec.mean)}, std {floats(spec.std)}{size}"
