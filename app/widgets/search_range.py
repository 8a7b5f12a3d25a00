"""The "Search range…" dialog: what a sweep may try for one setting or block field.

A number field takes a range (low, high, and a log scale or a step) or a list of values; a
choice or on/off field takes a list. The dialog writes the range as ``--param KEY=SPEC``
takes it (``float:1e-4..0.1:log``, ``int:16..256:16``, ``choice:relu,gelu``) and hands it to
``GraphDocument.set_search_range``, which checks it with the engine (``engine.sweep.space``):
a range that does not parse or does not fit the field keeps the dialog open with the
engine's sentence and changes nothing. OK is one undo step; so is Clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.document import EditError, GraphDocument
from app.widgets.labels import plain_label
from engine.sweep.space import SweepError, parse_spec

KINDS = ("float", "int", "choice")


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}" if isinstance(v, float) else str(v)


def default_spec(kind: str, value: Any, choices: Sequence[Any] = ()) -> str:
    """A first range around the field's value: a tenth to ten times a positive float (log),
    a quarter to four times a whole number, every choice of a list (both for on/off)."""
    if isinstance(value, list | tuple):  # a size field such as a kernel's 3 x 5
        value = value[0] if value else 0
    if kind == "choice" or isinstance(value, bool):
        values = list(choices) or ([False, True] if isinstance(value, bool) else [value])
        return "choice:" + ",".join(_text(v) for v in values)
    if kind == "float":
        v = float(value or 0.0)
        return f"float:{v / 10:g}..{v * 10:g}:log" if v > 0 else "float:0..1"
    v = int(value or 0)
    return f"int:{max(1, v // 4)}..{max(2, v * 4)}" if v > 0 else "int:0..10"


class SearchRangeDialog(QDialog):
    """Edits the range of one ``key`` of ``document``'s sweep; ``kind`` is the field's
    ("float", "int" or "choice"), ``value`` its current value and ``choices`` its options."""

    def __init__(self, document: GraphDocument, key: str, kind: str, value: Any = None,
                 choices: Sequence[Any] = (), title: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SearchRangeDialog")
        self.setWindowTitle(f"Search range: {title or key}")
        self.document = document
        self.key = key
        self.field_kind = kind
        current = document.search_range(key)
        spec = current or default_spec(kind, value, choices)
        try:
            rng = parse_spec(key, spec)
        except SweepError:  # a file's odd range: start from the default one
            rng = parse_spec(key, default_spec(kind, value, choices))
        lay = QVBoxLayout(self)
        intro = plain_label(f"Each trial of a sweep picks a value for {key} from:", "muted")
        lay.addWidget(intro)
        form = QFormLayout()
        lay.addLayout(form)
        self.kind_combo = QComboBox()
        if kind in ("float", "int"):
            self.kind_combo.addItem("a range", kind)
        self.kind_combo.addItem("a list of values", "choice")
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(rng.kind)))
        form.addRow("Try", self.kind_combo)
        self.low, self.high, self.step = QLineEdit(), QLineEdit(), QLineEdit()
        self.step.setPlaceholderText("any value" if kind == "float" else "1")
        self.log = QCheckBox("Log scale (as many tries per tenfold)")
        self.values = QLineEdit()
        self.values.setPlaceholderText("values separated by commas, e.g. 32, 64, 128")
        form.addRow("Low", self.low)
        form.addRow("High", self.high)
        form.addRow("Step", self.step)
        form.addRow(self.log)
        form.addRow("Values", self.values)
        self.form = form
        if rng.kind == "choice":
            self.values.setText(", ".join(_text(v) for v in rng.choices))
        else:
            self.low.setText(_text(rng.low))
            self.high.setText(_text(rng.high))
            self.step.setText(_text(rng.step) if rng.step is not None else "")
            self.log.setChecked(rng.log)
        self.error = plain_label(role="error")
        self.error.setObjectName("search_range_error")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.clear_button = buttons.addButton("Clear range",
                                              QDialogButtonBox.ButtonRole.DestructiveRole)
        self.clear_button.setVisible(current is not None)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        lay.addWidget(buttons)
        self.kind_combo.currentIndexChanged.connect(self._show_rows)
        self.log.toggled.connect(self._show_rows)
        self._show_rows()
        self.setMinimumWidth(420)

    def spec(self) -> str:
        """The range as typed, in ``--param`` form (not yet checked)."""
        kind = self.kind_combo.currentData()
        if kind == "choice":
            parts = [p.strip() for p in self.values.text().split(",")]
            return "choice:" + ",".join(p for p in parts if p)
        text = f"{kind}:{self.low.text().strip()}..{self.high.text().strip()}"
        if self.log.isChecked():
            return text + ":log"
        step = self.step.text().strip()
        return f"{text}:{step}" if step else text

    def accept(self) -> None:
        """Set the range, or say why not and stay open."""
        try:
            self.document.set_search_range(self.key, self.spec())
        except EditError as e:
            self.error.setText(str(e))
            self.error.show()
            return
        super().accept()

    def _on_clear_button_clicked(self) -> None:
        self.document.set_search_range(self.key, None)
        super().accept()

    def _show_rows(self) -> None:
        choice = self.kind_combo.currentData() == "choice"
        for w in (self.low, self.high, self.log):
            self.form.setRowVisible(w, not choice)
        self.form.setRowVisible(self.step, not choice and not self.log.isChecked())
        self.form.setRowVisible(self.values, choice)
        if choice and not self.values.text().strip():
            self.values.setText(self.low.text())
        self.error.hide()
        self.adjustSize()

