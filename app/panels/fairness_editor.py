"""GroupingsEditor: the Fairness view's list of groupings and intersections, with Add,
Remove and the smallest group judged.

Every change is an undo step on the document (``fairness_edits``); the list follows the
document's ``settings_changed("fairness", ...)`` and ``project_replaced``, so undo, redo
and opening another project show at once. Without a document (a bare evaluation panel)
it shows the groupings it is given, read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.document import EditError, GraphDocument
from app.panels import fairness_edits as edits
from app.panels.dataset_jobs import resolve_spec
from app.panels.dataset_views import csv_header
from app.panels.fairness_dialogs import KINDS, GroupingDialog, IntersectionDialog
from app.widgets.labels import plain_label
from engine.project import FairnessSpec, Grouping

ROWS_SHOWN = 3  # table rows on screen before it scrolls


def describe(g: Grouping) -> str:
    """Where a grouping's groups come from, in words."""
    if g.kind == "column":
        return f"column {g.column}"
    if g.kind == "folder":
        return f"folder level {g.level}"
    column = f", column {g.column}" if g.column else ""
    return f"file {Path(g.file).name}{column}"


class GroupingsEditor(QWidget):
    """``changed()`` after the groupings shown changed (an edit, undo, another project)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: GraphDocument | None = None
        self._spec = FairnessSpec()  # shown without a document
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Grouping", "Groups from"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        row_h = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(header.sizeHint().height() + ROWS_SHOWN * row_h + 4)
        self.add_button = QPushButton("Add grouping…")
        self.cross_button = QPushButton("Add intersection…")
        self.cross_button.setToolTip("Cross two groupings or more (e.g. sex x age)")
        self.remove_button = QPushButton("Remove")
        self.min_group = QSpinBox()
        self.min_group.setRange(1, 1_000_000)
        self.min_group.setToolTip("Groups with fewer samples are listed but flagged as too "
                                  "small to judge, never ranked")
        self.error = plain_label(role="error")
        self.error.hide()
        self.note = plain_label(role="muted")  # what an edit changed besides the groupings
        self.note.hide()
        buttons = QVBoxLayout()
        for b in (self.add_button, self.cross_button, self.remove_button):
            buttons.addWidget(b)
        size = QHBoxLayout()
        size.addWidget(QLabel("Smallest group judged"))
        size.addWidget(self.min_group)
        buttons.addLayout(size)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.table, 1)
        row.addLayout(buttons)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.error)
        lay.addWidget(self.note)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.cross_button.clicked.connect(self._on_cross_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.min_group.editingFinished.connect(self._on_min_group_editing_finished)
        self.table.itemSelectionChanged.connect(self._enable)
        self._fill()

    # -- the spec shown -----------------------------------------------------------------
    def set_document(self, document: GraphDocument | None) -> None:
        """Edit ``document``'s groupings (None: show those given to ``show_spec``)."""
        if self.document is not None:
            self.document.settings_changed.disconnect(self._on_document_settings_changed)
            self.document.project_replaced.disconnect(self._on_document_project_replaced)
        self.document = document
        if document is not None:
            document.settings_changed.connect(self._on_document_settings_changed)
            document.project_replaced.connect(self._on_document_project_replaced)
        self._on_document_project_replaced()

    def show_spec(self, spec: FairnessSpec) -> None:
        """Without a document: show ``spec`` (a run's own groupings), read-only."""
        self._spec = spec.model_copy(deep=True)
        if self.document is None:
            self._fill()

    @property
    def spec(self) -> FairnessSpec:
        return self.document.project.fairness if self.document is not None else self._spec

    def _on_document_project_replaced(self) -> None:
        self.note.hide()
        self.error.hide()
        self._fill()

    def _on_document_settings_changed(self, section: str, _name: str) -> None:
        if section == edits.SECTION:
            self._fill()

    def _fill(self) -> None:
        spec = self.spec
        rows = [(g.name, describe(g)) for g in spec.groupings]
        rows += [(edits.intersection_name(i), "intersection") for i in spec.intersections]
        self.table.setRowCount(len(rows))
        for r, (name, source) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(name))
            self.table.setItem(r, 1, QTableWidgetItem(source))
        with QSignalBlocker(self.min_group):
            self.min_group.setValue(spec.min_group)
        self._enable()
        self.changed.emit()

    def _enable(self) -> None:
        editable = self.document is not None
        spec = self.spec
        self.add_button.setEnabled(editable)
        self.cross_button.setEnabled(editable and len(spec.groupings) >= 2)
        self.remove_button.setEnabled(editable and self.table.currentRow() >= 0
                                      and bool(self.table.selectedItems()))
        self.min_group.setEnabled(editable)

    # -- edits --------------------------------------------------------------------------
    def add_grouping(self, grouping: Grouping) -> None:
        said = self._edit(lambda doc: edits.add_grouping(doc, grouping))
        self.note.setText(str(said or ""))
        self.note.setVisible(bool(said))

    def add_intersection(self, names: list[str]) -> None:
        self._edit(lambda doc: edits.add_intersection(doc, names))

    def remove_row(self, row: int) -> None:
        """Remove the grouping or intersection listed at ``row``."""
        spec = self.spec
        n = len(spec.groupings)
        if 0 <= row < n:
            name = spec.groupings[row].name
            self._edit(lambda doc: edits.remove_grouping(doc, name))
        elif n <= row < n + len(spec.intersections):
            names = spec.intersections[row - n]
            self._edit(lambda doc: edits.remove_intersection(doc, names))

    def _edit(self, change: Callable[[GraphDocument], object]) -> object:
        """Make an edit on the document; its complaint is shown under the list."""
        if self.document is None:
            return None
        try:
            result = change(self.document)
        except EditError as e:
            self.error.setText(str(e))
            self.error.show()
            return None
        self.error.hide()
        return result

    def csv_columns(self) -> list[str]:
        """The project's CSV columns other than the target (offered for a column
        grouping); none for other data."""
        doc = self.document
        if doc is None or doc.project.dataset.source not in ("csv", "texts"):
            return []
        base = str(Path(doc.path).parent) if doc.path else None
        spec = resolve_spec(doc.project.dataset, base)
        try:
            header = csv_header(spec.path, str(spec.options.get("delimiter", "")))
        except OSError:
            return []
        return [c for c in header if c != spec.target]

    def _on_add_button_clicked(self) -> None:
        doc = self.document
        start = str(Path(doc.path).parent) if doc is not None and doc.path else ""
        dialog = GroupingDialog(self.csv_columns(), [g.name for g in self.spec.groupings],
                                start, self)
        if doc is not None and doc.project.dataset.source == "folder":
            dialog.set_kind("folder")
        if dialog.exec() == QDialog.DialogCode.Accepted:
            chosen = dialog.grouping()
            if isinstance(chosen, Grouping):
                self.add_grouping(chosen)

    def _on_cross_button_clicked(self) -> None:
        dialog = IntersectionDialog([g.name for g in self.spec.groupings], self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.add_intersection(dialog.names())

    def _on_remove_button_clicked(self) -> None:
        self.remove_row(self.table.currentRow())

    def _on_min_group_editing_finished(self) -> None:
        if self.document is not None and self.min_group.value() != self.spec.min_group:
            self._edit(lambda doc: edits.set_min_group(doc, self.min_group.value()))


__all__ = ["KINDS", "GroupingsEditor", "describe"]
