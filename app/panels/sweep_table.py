"""The experiment view's trials table: one row per trial of the sweep (number, state, the
objective values, one column per search range, epochs, duration, and the lane that ran it
when the engine names one), sortable by any column, the best trial marked (bold, with a
star). A block field's column title takes two lines (``fc1`` over ``out_features``) so
that the table fits the middle of a 1280-pixel window. Selecting rows reports the trials'
numbers; the view overlays their curves and offers "Apply to project"."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
)

from app.panels.training import fmt_duration
from engine.sweep.results import TrialRecord

SORT_ROLE = Qt.ItemDataRole.UserRole
NUMBER_ROLE = Qt.ItemDataRole.UserRole + 1
BEST_MARK = " ★"


class _Item(QTableWidgetItem):
    """A cell that sorts by the value kept under SORT_ROLE (numbers as numbers, so that
    trial 10 sorts after trial 9 and a missing value sorts last)."""

    def __lt__(self, other: QTableWidgetItem) -> bool:  # type: ignore[override]
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(a, int | float) and isinstance(b, int | float):
            return a < b
        if isinstance(a, int | float) != isinstance(b, int | float):
            return isinstance(a, int | float)  # numbers before blanks
        return str(a) < str(b)


def short_key(key: str) -> str:
    """A range's key as a column or axis title: ``lr`` for ``training.lr``, ``fc1.units``
    for ``model/fc1.units`` (the block's name matters: two blocks may share a field)."""
    head, _, name = key.rpartition(".")
    if "/" not in key and head in ("training", "dataset", "task"):
        return name
    return key.rsplit("/", 1)[-1]


def header_text(key: str) -> str:
    """A range's column title: :func:`short_key`, a block's field on a second line."""
    return short_key(key).replace(".", "\n", 1)


def metric_header(metric: str) -> str:
    """An objective's column title, on two lines from its first underscore
    (``val`` over ``accuracy``)."""
    return metric.replace("_", "\n", 1)


class _Header(QHeaderView):
    """A header that keeps room for the sort arrow only in the sorted column, and only the
    arrow's width. Qt widens every section by the header's height (twice the arrow with
    two-line titles), which alone pushed the last columns out of sight at 1280x800. Its
    titles are a little smaller than the values (most columns are as wide as their title)."""

    def __init__(self, parent: QTableWidget) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        font = QFont(parent.font())
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.setFont(font)
        self.setSectionsClickable(True)
        self.setHighlightSections(False)
        self.sortIndicatorChanged.connect(lambda *_: self.resizeSections())

    def sectionSizeFromContents(self, index: int) -> QSize:  # noqa: N802 - Qt override
        size = super().sectionSizeFromContents(index)
        if self.isSortIndicatorShown():
            style = self.style()
            margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, self)
            arrow = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, self)
            room = arrow + 2 * margin if index == self.sortIndicatorSection() else 0
            size.setWidth(size.width() - size.height() - margin + room)
        return size


def lane_of(record: Any) -> str:
    """The lane that ran a trial ("local 1", a host's name), or "" when the engine does not
    say (``lane`` is new in TrialStarted and TrialRecord)."""
    return str(getattr(record, "lane", "") or "")


def fmt_value(v: Any, digits: int = 4) -> str:
    """A parameter or metric value, short: ``digits`` significant digits for floats."""
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        if v.is_integer() and abs(v) < 1e15:  # a count (parameters, FLOPs): every digit
            return str(int(v))
        return f"{v:.{digits}g}"
    return str(v)


class TrialsTable(QTableWidget):
    """Signals: ``selected(numbers)`` when the selection changes."""

    selected = Signal(list)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("SweepTrials")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setHorizontalHeader(_Header(self))
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.metrics: list[str] = []
        self.keys: list[str] = []
        self.lanes = False  # whether the Lane column shows
        self.best: int | None = None
        self._rows: dict[int, TrialRecord] = {}
        self._lanes: dict[int, str] = {}
        self.itemSelectionChanged.connect(self._on_self_item_selection_changed)

    # -- filling ----------------------------------------------------------------------
    def set_columns(self, metrics: list[str], keys: list[str], lanes: bool = False) -> None:
        """The objective metrics, the range keys and whether trials name their lane
        (empties the table when they change)."""
        if (metrics, keys, lanes) == (self.metrics, self.keys, self.lanes) \
                and self.columnCount():
            return
        self.metrics, self.keys, self.lanes = list(metrics), list(keys), lanes
        headers = ["Trial", "State", *map(metric_header, metrics), *map(header_text, keys),
                   "Epochs", "Time"]
        if lanes:
            headers.append("Lane")
        self.clear()
        self._rows.clear()
        self.setRowCount(0)
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # by number
        for col, key in enumerate([*metrics, *keys], start=2):
            self.horizontalHeaderItem(col).setToolTip(key)
        if lanes:
            self.horizontalHeaderItem(len(headers) - 1).setToolTip(
                "Where the trial trained: a local worker or a remote host")

    def column(self, title: str) -> int:
        """The column whose title is ``title`` (a range's key finds its column too);
        -1 when there is none."""
        for col in range(self.columnCount()):
            item = self.horizontalHeaderItem(col)
            if item is not None and title in (item.text(), item.toolTip()):
                return col
        return -1

    def set_records(self, records: list[TrialRecord], best: int | None,
                    lanes: dict[int, str] | None = None) -> None:
        """Show ``records`` (every trial), ``best`` (a trial number, or None) marked, each
        trial's lane from ``lanes`` (number -> name) in the Lane column if it shows; the
        selection is kept."""
        self._lanes = dict(lanes or {})
        chosen = self.selected_numbers()
        self.setSortingEnabled(False)
        self.blockSignals(True)
        try:
            self.setRowCount(len(records))
            self._rows = {r.number: r for r in records}
            self.best = best
            for row, r in enumerate(sorted(records, key=lambda r: r.number)):
                self._fill(row, r, r.number == best)
            self.clearSelection()
            for row in range(self.rowCount()):
                if self.item(row, 0).data(NUMBER_ROLE) in chosen:
                    self.selectRow(row)
        finally:
            self.blockSignals(False)
            self.setSortingEnabled(True)

    def _fill(self, row: int, r: TrialRecord, best: bool) -> None:
        cells: list[tuple[str, Any]] = [(f"{r.number}{BEST_MARK if best else ''}", r.number),
                                        (r.state, r.state)]
        for v in [r.values.get(m) for m in self.metrics] + [r.params.get(k) for k in self.keys]:
            cells.append((fmt_value(v, 3) if v is not None else "", v if v is not None else ""))
        cells.append((str(r.epochs) if r.epochs else "", r.epochs))
        cells.append((fmt_duration(r.seconds) if r.seconds else "", r.seconds))
        if self.lanes:
            lane = lane_of(r) or self._lanes.get(r.number, "")
            cells.append((lane, lane))
        bold = QFont(self.font())
        bold.setBold(best)
        tip = r.message or ("the best trial so far" if best else "")
        for col, (text, key) in enumerate(cells):
            item = _Item(text)
            item.setData(SORT_ROLE, key)
            item.setData(NUMBER_ROLE, r.number)
            item.setFont(bold)
            if tip:
                item.setToolTip(tip)
            self.setItem(row, col, item)

    # -- reading ------------------------------------------------------------------------
    def selected_numbers(self) -> list[int]:
        rows = sorted({i.row() for i in self.selectedIndexes()})
        return [self.item(r, 0).data(NUMBER_ROLE) for r in rows if self.item(r, 0)]

    def record(self, number: int) -> TrialRecord | None:
        return self._rows.get(number)

    def select_trial(self, number: int) -> None:
        for row in range(self.rowCount()):
            if self.item(row, 0).data(NUMBER_ROLE) == number:
                self.selectRow(row)
                return

    def _on_self_item_selection_changed(self) -> None:
        self.selected.emit(self.selected_numbers())
