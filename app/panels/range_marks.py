"""Search-range marks on a form's fields (the hyperparameter, dataset and inspector forms).

``RangeMarks.attach`` gives a field a right-click item "Search range…" (beside the field's
own copy and paste) that opens ``SearchRangeDialog``, and a line under the field, shown
while the field has a range: "sweep: 0.0001..0.1 log" with Edit… and Clear. The marks read
the ranges from the document and follow ``sweep_changed``; every change goes through the
document's edit API (one undo step each).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSpinBox,
    QToolButton,
    QWidget,
)

from app.document import GraphDocument
from app.document.sweep_keys import describe_spec
from app.widgets.labels import plain_label
from app.widgets.search_range import SearchRangeDialog

Key = str | Callable[[], str]


class RangeNote(QWidget):
    """The line under a ranged field: what the sweep tries, and Edit… / Clear."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("range_note")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.label = plain_label(role="muted", wrap=True)
        self.edit_button = QToolButton()
        self.edit_button.setText("Edit…")
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        for b in (self.edit_button, self.clear_button):
            b.setAutoRaise(True)
        row.addWidget(self.label, 1)
        row.addWidget(self.edit_button)
        row.addWidget(self.clear_button)

    def show_spec(self, spec: str) -> None:
        text = f"sweep: {describe_spec(spec)}"
        if self.label.text() != text:
            self.label.setText(text)
            self.label.setToolTip(f"A sweep tries {spec} here (Sweep, in Train).")


def field_kind(widget: QWidget) -> tuple[str, list[Any]]:
    """What a field holds, from its widget: ("float" | "int" | "choice", the choices)."""
    if isinstance(widget, QCheckBox):
        return "choice", [False, True]
    if isinstance(widget, QComboBox):
        return "choice", [widget.itemData(i) for i in range(widget.count())
                          if widget.itemData(i) not in (None, "")]
    if isinstance(widget, QSpinBox):
        return "int", []
    return "float", []  # a QDoubleSpinBox, or a slider row of a fraction


@dataclass
class _Mark:
    form: QFormLayout
    widget: QWidget
    key: Key
    kind: str
    value: Callable[[], Any]
    choices: Sequence[Any]
    title: str
    note: RangeNote

    def current_key(self) -> str:
        return self.key() if callable(self.key) else self.key


class RangeMarks(QObject):
    """The marks of one panel; ``clear()`` before the panel rebuilds its form."""

    def __init__(self, document: GraphDocument, parent: QWidget) -> None:
        super().__init__(parent)
        self.document = document
        self.marks: list[_Mark] = []
        self._watched: dict[QObject, _Mark] = {}
        self.dialog: SearchRangeDialog | None = None  # the open one, if any
        document.sweep_changed.connect(self._on_document_sweep_changed)
        document.project_replaced.connect(self.refresh)

    def attach(self, form: QFormLayout, widget: QWidget, key: Key, kind: str,
               value: Callable[[], Any], choices: Sequence[Any] = (), title: str = "") -> None:
        """Mark ``widget`` (a field of ``form``) as the editor of ``key``; ``kind`` is
        "float", "int" or "choice", ``value()`` the field's value now."""
        row, _role = form.getWidgetPosition(widget)
        note = RangeNote()
        form.insertRow(row + 1, note)
        mark = _Mark(form, widget, key, kind, value, choices, title, note)
        note.edit_button.clicked.connect(lambda: self.open_dialog(mark))
        note.clear_button.clicked.connect(
            lambda: self.document.set_search_range(mark.current_key(), None))
        self.marks.append(mark)
        for w in (widget, *widget.findChildren(QWidget)):
            w.installEventFilter(self)
            self._watched[w] = mark
        self._show(mark)

    def attach_setting(self, form: QFormLayout, widget: QWidget, key: str) -> None:
        """Mark a settings field (``training.lr``); its kind, choices and title come from
        the widget (a spin box, combo box, check box or slider) and its form label."""
        kind, choices = field_kind(widget)
        section, _, name = key.partition(".")
        label = form.labelForField(widget)
        title = label.text() if isinstance(label, QLabel) else \
            widget.text() if isinstance(widget, QCheckBox) else key
        self.attach(form, widget, key, kind,
                    lambda: getattr(getattr(self.document.project, section), name),
                    choices, title)

    def clear(self) -> None:
        """Forget the marks (their rows go with the form's rows)."""
        for w in self._watched:
            w.removeEventFilter(self)
        self._watched.clear()
        self.marks.clear()

    def mark_for(self, key: str) -> _Mark | None:
        return next((m for m in self.marks if m.current_key() == key), None)

    def open_dialog(self, mark: _Mark) -> SearchRangeDialog:
        """Open the range dialog of ``mark``'s field (not modal to the code: it commits
        through the document itself when OK is pressed)."""
        parent = self.parent()
        dialog = SearchRangeDialog(self.document, mark.current_key(), mark.kind, mark.value(),
                                   mark.choices, mark.title,
                                   parent if isinstance(parent, QWidget) else None)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    def refresh(self) -> None:
        for mark in self.marks:
            self._show(mark)

    # -- internals -------------------------------------------------------------------
    def _show(self, mark: _Mark) -> None:
        spec = self.document.search_range(mark.current_key())
        if spec is not None:
            mark.note.show_spec(spec)
        # the field's row was hidden by its panel (a widget never shown yet is hidden too,
        # but not explicitly: its layout shows it with the form)
        hidden = mark.widget.isHidden() and mark.widget.testAttribute(
            Qt.WidgetAttribute.WA_WState_ExplicitShowHide)
        visible = spec is not None and not hidden
        mark.form.setRowVisible(mark.note, visible)

    def _on_document_sweep_changed(self, name: str) -> None:
        if name == "ranges":
            self.refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        mark = self._watched.get(watched)
        if mark is None:
            return False
        if event.type() == QEvent.Type.ContextMenu and isinstance(event, QContextMenuEvent):
            menu = self._context_menu(watched, mark)
            menu.exec(event.globalPos())
            menu.deleteLater()
            return True
        if watched is mark.widget and event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            self._show(mark)
        return False

    def _context_menu(self, watched: QObject, mark: _Mark) -> QMenu:
        edit = watched if isinstance(watched, QLineEdit) else \
            watched.lineEdit() if isinstance(watched, QAbstractSpinBox | QComboBox) else None
        menu = edit.createStandardContextMenu() if isinstance(edit, QLineEdit) else QMenu()
        menu.setParent(mark.widget, menu.windowFlags())
        if not menu.isEmpty():
            menu.addSeparator()
        ranged = self.document.search_range(mark.current_key()) is not None
        act = QAction("Edit search range…" if ranged else "Search range…", menu)
        act.triggered.connect(lambda: self.open_dialog(mark))
        menu.addAction(act)
        if ranged:
            clear = QAction("Clear search range", menu)
            clear.triggered.connect(
                lambda: self.document.set_search_range(mark.current_key(), None))
            menu.addAction(clear)
        return menu
