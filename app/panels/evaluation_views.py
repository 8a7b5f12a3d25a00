"""Views of the evaluation panel: the metrics table, the confusion-matrix heatmap and the
sample gallery. They show plain values given to them and say what the user clicked."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.text import plain_tooltip
from app.widgets.images import pixmap_from_array

VALUE_ROLE = Qt.ItemDataRole.UserRole
GALLERY_SHOWN = 300
THUMB = 48
CAPTION_MAX = 220  # widest gallery cell; longer class names are elided in the middle
CAPTION_SLACK = 2  # pixels kept free beside a caption line (rounding in text layout)


def _item(text: str, value: Any = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if value is not None:
        item.setData(VALUE_ROLE, value)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _number(value: Any) -> QTableWidgetItem:
    """A cell for a metric value: three decimals, or a dash (value None) when missing or
    not finite; an int (a count) as is."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        item = _item("–")
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item
    return _item(str(value) if isinstance(value, int) else f"{value:.3f}", value)


def content_width(table: QTableWidget) -> int:
    """The width that shows every column of ``table`` and its row names, with room for a
    vertical scroll bar (a long class list scrolls; its columns should not)."""
    bar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, table)
    columns = sum(table.columnWidth(c) for c in range(table.columnCount()))
    return table.verticalHeader().sizeHint().width() + columns + 2 * table.frameWidth() + bar + 4


class MetricsTable(QTableWidget):
    """Per-class precision, recall, F1 and support, plus a macro row; or name/value rows.
    Each number cell keeps the exact value under ``VALUE_ROLE``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(True)
        self.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)

    def show_classes(self, metrics: dict[str, Any], classes: list[str]) -> None:
        cm = metrics.get("confusion_matrix") or []
        cols = ["Precision", "Recall", "F1", "Support"]
        keys = ["precision_per_class", "recall_per_class", "f1_per_class"]
        self.clear()
        self.setColumnCount(len(cols))
        self.setHorizontalHeaderLabels(cols)
        self.setRowCount(len(classes) + 1)
        self.setVerticalHeaderLabels([*classes, "macro"])
        for r in range(len(classes)):
            for c, key in enumerate(keys):
                values = metrics.get(key) or []
                if r < len(values):
                    self.setItem(r, c, _item(f"{values[r]:.3f}", values[r]))
            support = sum(cm[r]) if r < len(cm) else 0
            self.setItem(r, 3, _item(str(support), support))
        last = len(classes)
        for c, key in enumerate(("precision", "recall", "f1")):
            if key in metrics:
                self.setItem(last, c, _item(f"{metrics[key]:.3f}", metrics[key]))
        total = sum(sum(row) for row in cm)
        self.setItem(last, 3, _item(str(total), total))
        self.resizeColumnsToContents()

    def show_per_class(self, columns: dict[str, list[Any]], classes: list[str],
                       summary: dict[str, Any], summary_name: str = "mean") -> None:
        """One row per class and a ``summary_name`` row; ``columns`` maps a column's
        title to its per-class values, ``summary`` a title to the summary row's value. A
        missing or non-finite value (a class absent from the split) shows as a dash."""
        titles = list(columns)
        self.clear()
        self.setColumnCount(len(titles))
        self.setHorizontalHeaderLabels(titles)
        self.setRowCount(len(classes) + 1)
        self.setVerticalHeaderLabels([*classes, summary_name])
        for c, title in enumerate(titles):
            values = list(columns[title] or [])
            for r in range(len(classes)):
                self.setItem(r, c, _number(values[r] if r < len(values) else None))
            self.setItem(len(classes), c, _number(summary.get(title)))
        self.resizeColumnsToContents()

    def show_scalars(self, metrics: dict[str, Any]) -> None:
        rows = [(k, v) for k, v in metrics.items()
                if isinstance(v, int | float) and not isinstance(v, bool)]
        self.clear()
        self.setColumnCount(1)
        self.setHorizontalHeaderLabels(["Value"])
        self.setRowCount(len(rows))
        self.setVerticalHeaderLabels([k for k, _ in rows])
        for r, (_k, v) in enumerate(rows):
            self.setItem(r, 0, _item(f"{v:.4g}", v))

    def clear_all(self) -> None:
        """No rows, no columns (no run shown)."""
        self.clear()
        self.setRowCount(0)
        self.setColumnCount(0)

    def value(self, row_name: str, column: str) -> Any:
        """The exact value in the row labelled ``row_name`` and ``column`` (for tests)."""
        rows = [self.verticalHeaderItem(r).text() for r in range(self.rowCount())]
        cols = [self.horizontalHeaderItem(c).text() for c in range(self.columnCount())]
        item = self.item(rows.index(row_name), cols.index(column))
        return None if item is None else item.data(VALUE_ROLE)


def compact_count(n: int) -> str:
    """A count in at most five characters: 987, 12.3k, 4.56M (pixel counts are large)."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            v = n / size
            return f"{v:.3g}{unit}" if v < 1000 else f"{v:.0f}{unit}"
    return str(n)


class ConfusionMatrixView(QTableWidget):
    """A heatmap of the confusion matrix (rows: true class, columns: predicted; a model
    with more outputs than the dataset has classes gets ``out N`` columns for the rest).
    ``cell_chosen(true, predicted)`` when a cell is clicked."""

    cell_chosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        self.setToolTip("Rows: true class. Columns: predicted class. Click a cell to see "
                        "those samples.")
        self.matrix: list[list[int]] = []
        self.cellClicked.connect(self._on_self_cell_clicked)

    def show_matrix(self, matrix: list[list[int]], classes: list[str],
                    fmt: Callable[[int], str] = str) -> None:
        """Fill the heatmap; ``fmt`` writes a cell's count (pixels: compactly), its
        tooltip has the exact one."""
        self.matrix = [list(r) for r in matrix]
        n = len(matrix)
        cols = max((len(r) for r in matrix), default=0)  # a model may have unused outputs
        names = classes if len(classes) == n else [str(i) for i in range(n)]
        col_names = names[:cols] + [f"out {i}" for i in range(len(names), cols)]
        self.clear()
        self.setRowCount(n)
        self.setColumnCount(cols)
        self.setHorizontalHeaderLabels(col_names)
        self.setVerticalHeaderLabels(names)
        top = max((v for row in matrix for v in row), default=0) or 1
        pal = self.palette()
        base, hot = pal.color(QPalette.ColorRole.Base), QColor("#2f6fde")
        for r, row in enumerate(matrix):
            for c, v in enumerate(row):
                t = v / top
                color = QColor(round(base.red() + (hot.red() - base.red()) * t),
                               round(base.green() + (hot.green() - base.green()) * t),
                               round(base.blue() + (hot.blue() - base.blue()) * t))
                item = _item(fmt(v), v)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QBrush(color))
                item.setForeground(QBrush(QColor("#ffffff") if t > 0.55
                                          else pal.color(QPalette.ColorRole.Text)))
                item.setToolTip(plain_tooltip(f"true {names[r]}, predicted {col_names[c]}: {v}"))
                self.setItem(r, c, item)

    def total(self) -> int:
        return sum(sum(r) for r in self.matrix)

    def clear_all(self) -> None:
        """No matrix (no run shown)."""
        self.show_matrix([], [])

    def _on_self_cell_clicked(self, row: int, column: int) -> None:
        self.cell_chosen.emit(row, column)


class SampleGallery(QListWidget):
    """Thumbnails (or feature text) of chosen samples with predicted and true labels and
    the confidence. ``indices`` are the split positions shown, in order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.indices: list[int] = []
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setSpacing(4)

    def show_samples(self, indices: list[int], classes: list[str], pred: list[int],
                     true: list[int], confidence: list[float], images: list[Any],
                     texts: list[str]) -> None:
        self.clear()
        self.indices = list(indices)
        shown = indices[:GALLERY_SHOWN]
        with_images = bool(images)
        self.setWordWrap(not with_images)  # captions are laid out line by line below
        if with_images:
            self.setViewMode(QListView.ViewMode.IconMode)
            budget = self._caption_layout(shown, classes, pred, true, confidence)
        else:  # vectors: one line per sample reads better than a grid of text
            self.setViewMode(QListView.ViewMode.ListMode)
            self.setGridSize(QSize())
        for i in shown:
            p, t = classes[pred[i]], classes[true[i]]
            if with_images and i < len(images):
                caption = "\n".join(self.caption_lines(p, t, confidence[i], budget))
                item = QListWidgetItem(pixmap_from_array(images[i], THUMB), caption)
            else:
                sample = texts[i] if i < len(texts) else f"#{i}"
                item = QListWidgetItem(f"{sample}   pred {p} ({confidence[i]:.0%}), true {t}")
            item.setToolTip(plain_tooltip(f"sample {i} of the split\npredicted {p}, "
                                          f"confidence {confidence[i]:.1%}\ntrue {t}"))
            item.setData(VALUE_ROLE, i)
            self.addItem(item)

    def clear_all(self) -> None:
        """No samples (no run shown)."""
        self.clear()
        self.indices = []

    def text_room(self) -> int:
        """Pixels a caption line may take in a grid cell (the view's spacing and the
        style's text margins left out)."""
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        return self.gridSize().width() - 2 * self.spacing() - 2 * margin - CAPTION_SLACK

    def caption_lines(self, pred: str, true: str, confidence: float, room: int) -> list[str]:
        """Two lines, ``pred NAME (98%)`` and ``true NAME``, each at most ``room`` pixels
        wide: a long class name loses its middle, the confidence is always shown in full
        (the tooltip has everything)."""
        fm = self.fontMetrics()
        conf = f" ({confidence:.0%})"

        def fit(prefix: str, name: str, suffix: str = "") -> str:
            rest = room - fm.horizontalAdvance(prefix + suffix)
            return prefix + fm.elidedText(name, Qt.TextElideMode.ElideMiddle, max(rest, 0)) + suffix

        return [fit("pred ", pred, conf), fit("true ", true)]

    def _caption_layout(self, shown: list[int], classes: list[str], pred: list[int],
                        true: list[int], confidence: list[float]) -> int:
        """Size the grid cells for two caption lines as wide as the longest caption needs,
        within [THUMB + 80, CAPTION_MAX]; returns the room for a line."""
        fm = self.fontMetrics()
        widest = max((fm.horizontalAdvance(line) for i in shown for line in (
            f"pred {classes[pred[i]]} ({confidence[i]:.0%})", f"true {classes[true[i]]}")),
            default=0)
        self.setGridSize(QSize(THUMB + 80, 1))
        extra = self.gridSize().width() - self.text_room()
        width = min(max(THUMB + 80, widest + extra), CAPTION_MAX)
        self.setGridSize(QSize(width, THUMB + 2 * fm.lineSpacing() + 2 * self.spacing() + 12))
        return self.text_room()
