"""The experiment view's trials table: one row per trial of the sweep (number, state, the
objective values, epochs, duration, then one column per search range), sortable by any
column, the best trial marked (bold, with a star). Selecting rows reports the trials'
numbers; the view overlays their curves and offers "Apply to project"."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

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


def fmt_value(v: Any) -> str:
    """A parameter or metric value, short: 4 significant digits for floats."""
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else "—"
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
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.metrics: list[str] = []
        self.keys: list[str] = []
        self.best: int | None = None
        self._rows: dict[int, TrialRecord] = {}
        self.itemSelectionChanged.connect(self._on_self_item_selection_changed)

    # -- filling ----------------------------------------------------------------------
    def set_columns(self, metrics: list[str], keys: list[str]) -> None:
        """The objective metrics and the range keys (empties the table when they change)."""
        if metrics == self.metrics and keys == self.keys and self.columnCount():
            return
        self.metrics, self.keys = list(metrics), list(keys)
        headers = ["Trial", *metrics, *map(short_key, keys), "State", "Epochs", "Time"]
        self.clear()
        self._rows.clear()
        self.setRowCount(0)
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        for col, key in enumerate(keys, start=1 + len(metrics)):
            self.horizontalHeaderItem(col).setToolTip(key)

    def set_records(self, records: list[TrialRecord], best: int | None) -> None:
        """Show ``records`` (every trial), ``best`` (a trial number, or None) marked; the
        selection is kept."""
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
        cells: list[tuple[str, Any]] = [(f"{r.number}{BEST_MARK if best else ''}", r.number)]
        for v in [r.values.get(m) for m in self.metrics] + [r.params.get(k) for k in self.keys]:
            cells.append((fmt_value(v) if v is not None else "", v if v is not None else ""))
        cells.append((r.state, r.state))
        cells.append((str(r.epochs) if r.epochs else "", r.epochs))
        cells.append((fmt_duration(r.seconds) if r.seconds else "", r.seconds))
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
