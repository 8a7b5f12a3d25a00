"""The Block health table: one row per block of the run shown, with its latest statistics,
sortable by any column (numbers as numbers; a statistic that does not apply sorts last).

The model reads a :class:`HealthHistory` when told (``refresh``): a new set of blocks resets
it, new numbers for the same blocks are one ``dataChanged`` for the whole table (and a
re-sort when they change the order), so a run with hundreds of blocks costs one repaint per
refresh however many numbers changed. The selection follows its block through re-sorting.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.canvas.health_badge import LEVEL_WORDS, level_colour
from app.canvas.health_stats import LEVELS, HealthHistory, fmt_stat

#: (title, statistic or None); the first three are the block, its type and its grade
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Block", ""), ("Type", ""), ("Health", ""), ("Act mean", "act_mean"),
    ("Act std", "act_std"), ("Dead", "dead"), ("Grad out", "grad_out"),
    ("Grad params", "grad_params"), ("Update ratio", "update_ratio"))
SORT_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
TIPS = {"Dead": "Share of units that are exactly zero for the whole batch (after ReLU-like "
                "blocks) or saturated (after Sigmoid/Tanh)",
        "Grad out": "L2 norm of the loss gradient with respect to the block's output",
        "Grad params": "L2 norm of the gradients of the block's own parameters",
        "Update ratio": "Size of the last optimizer step relative to the weights "
                        "(~1e-3 is healthy)"}
Index = QModelIndex | QPersistentModelIndex


class BlockStatsModel(QAbstractTableModel):
    """The blocks of one history (``set_history``), their types from ``set_types``, in the
    forward pass's order until ``sort`` orders them by a column. Sorting is done here, on
    keys computed once per row, rather than by a proxy comparing cells one call at a time:
    a refresh of hundreds of rows re-sorts within a millisecond."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: HealthHistory | None = None
        self.keys: list[str] = []  # the rows, as shown
        self.types: dict[str, str] = {}
        self.theme = "light"
        self.sort_column = -1
        self.sort_order = Qt.SortOrder.AscendingOrder

    def set_history(self, history: HealthHistory | None) -> None:
        self.history = history
        self.refresh()

    def set_types(self, types: dict[str, str]) -> None:
        self.types = dict(types)
        if self.keys:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self.keys) - 1, 1))

    def refresh(self) -> None:
        blocks = list(self.history.blocks) if self.history is not None else []
        if set(blocks) != set(self.keys):
            self.beginResetModel()
            self.keys = self._ordered(blocks)
            self.endResetModel()
        elif blocks:
            self._reorder()
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.keys) - 1, len(COLUMNS) - 1))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        self._reorder()

    def sort_key(self, key: str, column: int) -> Any:
        """What ``column`` sorts ``key``'s row by (None: does not apply)."""
        h = self.history
        if h is None:
            return None
        if column == 0:
            return key.rsplit("/", 1)[-1].lower()
        if column == 1:
            return self.types.get(key, "").lower()
        if column == 2:
            return LEVELS.index(h.grade(key).level)
        v = h.latest(key).get(COLUMNS[column][1])
        return v if isinstance(v, int | float) and math.isfinite(v) else None

    def _ordered(self, keys: list[str]) -> list[str]:
        if self.sort_column < 0 or self.history is None:
            return list(self.history.blocks) if self.history is not None else keys
        pairs = [(self.sort_key(k, self.sort_column), k) for k in keys]
        known = [p for p in pairs if p[0] is not None]
        known.sort(key=lambda p: p[0], reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        return [k for _, k in known] + [k for v, k in pairs if v is None]  # blanks last

    def _reorder(self) -> None:
        order = self._ordered(self.keys)
        if order == self.keys:
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        rows = {k: i for i, k in enumerate(order)}
        self.changePersistentIndexList(
            old, [self.index(rows[self.keys[i.row()]], i.column()) for i in old])
        self.keys = order
        self.layoutChanged.emit()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.keys)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        title = COLUMNS[section][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return title
        if role == Qt.ItemDataRole.ToolTipRole:
            return TIPS.get(title)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        h = self.history
        if h is None or not index.isValid():
            return None
        key = self.keys[index.row()]
        col = index.column()
        if role == KEY_ROLE:
            return key
        if role == SORT_ROLE:
            return self.sort_key(key, col)
        if col == 2:
            level = h.grade(key).level
            if role == Qt.ItemDataRole.DisplayRole:
                return LEVEL_WORDS[level]
            if role == Qt.ItemDataRole.DecorationRole:
                return level_colour(level, self.theme)
            if role == Qt.ItemDataRole.ToolTipRole:
                return "\n".join(h.grade(key).reasons) or None
            return None
        if col < 2:
            if role == Qt.ItemDataRole.DisplayRole:
                return key.rsplit("/", 1)[-1] if col == 0 else self.types.get(key, "")
            if role == Qt.ItemDataRole.ToolTipRole and col == 0:
                return key
            return None
        stat = COLUMNS[col][1]
        if role == Qt.ItemDataRole.DisplayRole:
            return fmt_stat(stat, h.latest(key).get(stat))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class BlockHealthTable(QTableView):
    """Signals: ``block_selected(key)`` ("" when none) when the current row changes."""

    block_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BlockHealthTable")
        self.stats = BlockStatsModel(self)
        self.setModel(self.stats)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        for col, width in enumerate((72, 64, 88, 66, 58, 46, 70, 80)):
            self.setColumnWidth(col, width)
        self.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)
        self.stats.modelReset.connect(self._on_stats_model_reset)
        self._wanted = ""  # the block to select again once a reset brings it back

    def selected_key(self) -> str:
        index = self.currentIndex()
        return str(index.data(KEY_ROLE)) if index.isValid() else ""

    def select_key(self, key: str) -> bool:
        """Make ``key``'s row current (scrolled to); False when the table has no such row."""
        self._wanted = key
        if key not in self.stats.keys:
            return False
        index = self.stats.index(self.stats.keys.index(key), 0)
        self.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.scrollTo(index)
        return True

    def column_values(self, column: int) -> list[Any]:
        """The values of a column from top to bottom as shown (tests)."""
        return [self.stats.sort_key(k, column) for k in self.stats.keys]

    def _on_selection_current_row_changed(self, current: QModelIndex, _previous: Any) -> None:
        key = str(current.data(KEY_ROLE)) if current.isValid() else ""
        if key:
            self._wanted = key
        self.block_selected.emit(key)

    def _on_stats_model_reset(self) -> None:
        if self._wanted and not self.select_key(self._wanted):
            self.block_selected.emit("")
