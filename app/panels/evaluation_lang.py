"""Views the language and speech sections of the evaluation panel share: a table of long
texts (elided, the whole text in the tooltip), the beam width box, the link-like line that
leads to the Try it tab (where a user tries a text or a clip of their own: one place for
every kind of run); the rows of a classifier's samples, and :class:`DecodedSection`, the
metrics | outputs layout of sequence to sequence and speech.
(A clip's waveform, spectrogram and Play are ``app.widgets.audio_view.AudioView``, shared
with the dataset panel.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.evaluation_views import MetricsTable, content_width
from app.panels.run_results import Evaluation
from app.text import plain_tooltip
from app.widgets.labels import plain_label

VALUE_ROLE = Qt.ItemDataRole.UserRole  # a row's split position (first cell)
FULL_ROLE = Qt.ItemDataRole.UserRole + 1  # a cell's whole text or exact number
#: rows a table of samples shows (the split may hold thousands)
ROWS_SHOWN = 500
#: the beam width box waits this long after the last click before decoding again
BEAM_DELAY_MS = 500


def fmt_cell(value: Any) -> str:
    """A table cell's text: a probability as a percentage, anything else as plain text
    on one line."""
    if isinstance(value, float):
        return f"{value:.1%}" if math.isfinite(value) else "–"
    return " ".join(str(value).split())


class TextTable(QTableWidget):
    """Rows of texts and numbers, one line each: a long text is elided in the middle of
    its column and shown whole in its tooltip. Each row keeps its split position under
    ``VALUE_ROLE`` of its first cell (``positions``); ``row_chosen(position)`` when a row
    is selected."""

    row_chosen = Signal(int)

    def __init__(self, columns: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(0, len(columns), parent)
        self.setHorizontalHeaderLabels(list(columns))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().setVisible(False)
        head = self.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        head.setStretchLastSection(False)
        self.itemSelectionChanged.connect(self._on_self_item_selection_changed)

    def fill(self, rows: Sequence[tuple[int, Sequence[Any]]], stretch: Sequence[int] = (0,)) -> None:
        """Show ``rows`` (split position, cells) — the first :data:`ROWS_SHOWN` — with the
        columns in ``stretch`` sharing the width left by the others."""
        self.setRowCount(0)
        shown = list(rows)[:ROWS_SHOWN]
        self.setRowCount(len(shown))
        for r, (position, cells) in enumerate(shown):
            for c, value in enumerate(cells):
                item = QTableWidgetItem(fmt_cell(value))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                item.setData(FULL_ROLE, value)
                if isinstance(value, float):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setToolTip(plain_tooltip(str(value)))
                if c == 0:
                    item.setData(VALUE_ROLE, position)
                self.setItem(r, c, item)
        head = self.horizontalHeader()
        for c in range(self.columnCount()):
            mode = (QHeaderView.ResizeMode.Stretch if c in stretch
                    else QHeaderView.ResizeMode.ResizeToContents)
            head.setSectionResizeMode(c, mode)

    def positions(self) -> list[int]:
        return [int(self.item(r, 0).data(VALUE_ROLE)) for r in range(self.rowCount())]

    def texts(self, row: int) -> list[str]:
        """Each cell of ``row`` as the user reads it, texts whole (not elided)."""
        items = [self.item(row, c) for c in range(self.columnCount())]
        return [it.text() if isinstance(it.data(FULL_ROLE), float) else str(it.data(FULL_ROLE))
                for it in items]

    def clear_all(self) -> None:
        self.setRowCount(0)

    def _on_self_item_selection_changed(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows:
            self.row_chosen.emit(int(self.item(rows[0].row(), 0).data(VALUE_ROLE)))


class BeamBox(QWidget):
    """"Beam width" and its spin box; ``beam_chosen(width)`` once the user stops changing
    it (a burst of clicks decodes once), never when the panel sets it."""

    beam_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QSpinBox()
        self.box.setRange(1, 64)
        self.box.setToolTip("Decode the split again keeping this many best partial outputs "
                            "at each step (1 = greedy). The project's setting is unchanged.")
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(BEAM_DELAY_MS)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(plain_label("Beam width", wrap=False))
        row.addWidget(self.box)
        row.addStretch(1)
        self.box.valueChanged.connect(self._on_box_value_changed)
        self.timer.timeout.connect(self._on_timer_timeout)

    def set_width(self, width: int) -> None:
        self.timer.stop()
        self.box.blockSignals(True)
        self.box.setValue(int(width))
        self.box.blockSignals(False)

    def _on_box_value_changed(self, _value: int) -> None:
        self.timer.start()

    def _on_timer_timeout(self) -> None:
        self.beam_chosen.emit(self.box.value())


class TryLink(QPushButton):
    """One short line where the section offers the user's own input: a flat button that
    reads like a link ("Try your own text in the Try it tab"). The Try it tab is the one
    place that answers a user's text or clip; the panel raises it on ``clicked``."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Try your own {what} in the Try it tab", parent)
        self.setFlat(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Open the Try it tab: give this run {what} of your own and see "
                        "its answer")
        # palette(link) follows the theme; no frame, so it sits in the text like a link
        self.setStyleSheet("QPushButton { border: none; padding: 2px 0; text-align: left;"
                           " color: palette(link); text-decoration: underline; }")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)


def column(*widgets: QWidget, stretch: int = -1) -> QWidget:
    """``widgets`` one under the other, the one at ``stretch`` taking the height left."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        lay.addWidget(w, 1 if i == (stretch % len(widgets)) else 0)
    return box


def class_rows(r: Evaluation, indices: Sequence[int],
               first: Callable[[int], str]) -> list[tuple[int, list[Any]]]:
    """A classifier's samples at ``indices`` as :meth:`TextTable.fill` rows: ``first(i)``
    (the text, or the clip's number), the true and predicted classes, the confidence."""
    names = r.classes

    def name(i: int) -> str:
        return names[i] if 0 <= i < len(names) else f"output {i}"

    return [(i, [first(i), name(r.true[i]), name(r.pred[i]), float(r.confidence[i])])
            for i in indices]


class DecodedSection(QSplitter):
    """Metrics and beam width | the outputs ``table`` under its title, over the line that
    leads to the Try it tab: the sections of models that decode (sequence to sequence,
    speech), which may add columns of their own. ``beam_chosen(width)`` when the user asks
    for another beam width; ``try_requested`` when they follow the link. Once laid out
    the metrics column is as wide as it needs and the others share the rest by
    :attr:`shares` (at least :attr:`min_rest` pixels)."""

    beam_chosen = Signal(int)
    try_requested = Signal()
    shares: tuple[int, ...] = (1,)
    min_rest = 300

    def __init__(self, columns: Sequence[str], what: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.result: Evaluation | None = None
        self.metrics = MetricsTable()
        self.beam = BeamBox()
        self.table = TextTable(columns)
        self.table_title = plain_label()
        self.try_link = TryLink(what)
        self.left = column(plain_label("Metrics", wrap=False), self.metrics, self.beam,
                           stretch=1)
        self.addWidget(self.left)
        self.addWidget(column(self.table_title, self.table, self.try_link, stretch=1))
        self.setChildrenCollapsible(False)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)
        self.beam.beam_chosen.connect(self.beam_chosen)
        self.try_link.clicked.connect(self.try_requested)

    def show_metrics(self, figures: dict[str, float], beam_width: int) -> None:
        """The metrics table (shown names -> values) and the beam width decoded with."""
        self.metrics.show_scalars(figures)
        self.left.setMinimumWidth(max(content_width(self.metrics),
                                      self.beam.minimumSizeHint().width()))
        QTimer.singleShot(0, self, self._size_columns)  # laid out; not once deleted
        self.beam.set_width(beam_width)

    def clear_all(self) -> None:
        self.result = None
        self.metrics.clear_all()
        self.left.setMinimumWidth(0)
        self.table.clear_all()
        self.table_title.clear()

    def shutdown(self) -> None:
        """Nothing of its own runs in the background (the subclasses' clips may play)."""

    def _size_columns(self) -> None:
        left = self.left.minimumWidth()
        rest = max(sum(self.sizes()) - left, self.min_rest)
        whole = sum(self.shares)
        self.setSizes([left, *(rest * share // whole for share in self.shares)])
