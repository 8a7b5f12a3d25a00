"""One editor widget per parameter kind, generated from a block's Param schema.

An editor shows a raw value from the project (``show_value``, silent) and emits ``edited``
with a new raw value when the user changes it. Values a file holds that the widget cannot
show (wrong type, out of range) are shown as the default; the inspector lists the error.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app.text import plain_tooltip
from app.widgets.combos import shrink_combo
from engine.blocks.base import Param

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
FLOAT_LIMIT = 1e12
_NUMBER_START = re.compile(r"^[+-]?(\d+\.?\d*|\.\d*)?([eE][+-]?\d*)?$")


def _int_range(p: Param) -> tuple[int, int]:
    lo = INT_MIN if p.min is None else max(INT_MIN, int(p.min))
    hi = INT_MAX if p.max is None else min(INT_MAX, int(p.max))
    return lo, hi


def _spin(p: Param) -> QSpinBox:
    box = QSpinBox()
    box.setRange(*_int_range(p))
    box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    box.setAccelerated(True)
    return box


class FloatSpinBox(QDoubleSpinBox):
    """A spin box that shows and accepts numbers like 1e-05 as well as 0.25."""

    def __init__(self) -> None:
        super().__init__()
        self.setDecimals(15)  # keep small values such as eps=1e-12; display is %g anyway
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        try:
            value = float(text)
        except ValueError:
            ok = bool(_NUMBER_START.match(text.strip()))
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos


class ParamEditor(QObject):
    """Base editor: ``widget`` to put in a form, ``edited(value)`` when the user types."""

    edited = Signal(object)
    problem_changed = Signal()

    def __init__(self, param: Param, widget: QWidget) -> None:
        super().__init__()
        self.param = param
        self.widget = widget
        self.problem = ""  # a local parse problem, shown inline by the inspector
        widget.setToolTip(plain_tooltip(param.doc) if param.doc else "")

    def emit_edited(self, value: Any) -> None:
        self.edited.emit(value)

    def show_value(self, raw: Any) -> None:
        with QSignalBlocker(self.widget):
            self._show(raw)

    def _show(self, raw: Any) -> None:
        raise NotImplementedError


class IntEditor(ParamEditor):
    def __init__(self, param: Param) -> None:
        self.box = _spin(param)
        super().__init__(param, self.box)
        self.box.valueChanged.connect(self.emit_edited)

    def _show(self, raw: Any) -> None:
        value = raw if isinstance(raw, int) and not isinstance(raw, bool) else self.param.default
        if self.box.value() != value:
            self.box.setValue(value)


class FloatEditor(ParamEditor):
    def __init__(self, param: Param) -> None:
        self.box = FloatSpinBox()
        lo = -FLOAT_LIMIT if param.min is None else param.min
        hi = FLOAT_LIMIT if param.max is None else param.max
        self.box.setRange(lo, hi)
        super().__init__(param, self.box)
        self.box.valueChanged.connect(self.emit_edited)

    def _show(self, raw: Any) -> None:
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        value = float(raw) if ok else float(self.param.default)
        if self.box.value() != value:
            self.box.setValue(value)


class BoolEditor(ParamEditor):
    def __init__(self, param: Param) -> None:
        self.box = QCheckBox()
        super().__init__(param, self.box)
        self.box.toggled.connect(self.emit_edited)

    def _show(self, raw: Any) -> None:
        self.box.setChecked(raw if isinstance(raw, bool) else bool(self.param.default))


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param) -> None:
        self.box = QComboBox()
        self.box.addItems(list(param.choices))
        shrink_combo(self.box)
        super().__init__(param, self.box)
        self.box.currentTextChanged.connect(self.emit_edited)

    def _show(self, raw: Any) -> None:
        self.box.setCurrentIndex(self.box.findText(raw if isinstance(raw, str) else ""))


class TextEditor(ParamEditor):
    def __init__(self, param: Param) -> None:
        self.line = QLineEdit()
        super().__init__(param, self.line)
        self.line.textEdited.connect(self.emit_edited)

    def _show(self, raw: Any) -> None:
        text = raw if isinstance(raw, str) else str(self.param.default)
        if self.line.text() != text:
            self.line.setText(text)


class SizeEditor(ParamEditor):
    """``length`` whole numbers side by side (e.g. kernel height x width). Equal values are
    stored as one number, as the catalog's defaults are."""

    def __init__(self, param: Param) -> None:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.boxes: list[QSpinBox] = []
        for i in range(param.length or 1):
            if i:
                row.addWidget(QLabel("×"))
            spin = _spin(param)
            spin.valueChanged.connect(self._on_spin_value_changed)
            row.addWidget(spin, 1)
            self.boxes.append(spin)
        super().__init__(param, box)

    def value(self) -> int | list[int]:
        values = [b.value() for b in self.boxes]
        return values[0] if len(set(values)) == 1 else values

    def _on_spin_value_changed(self, _value: int) -> None:
        self.edited.emit(self.value())

    def show_value(self, raw: Any) -> None:
        n = len(self.boxes)
        if isinstance(raw, int) and not isinstance(raw, bool):
            values = [raw] * n
        elif isinstance(raw, list | tuple) and len(raw) == n and all(
                isinstance(v, int) and not isinstance(v, bool) for v in raw):
            values = list(raw)
        else:
            d = self.param.default
            values = [d] * n if isinstance(d, int) else list(d)
        for box, v in zip(self.boxes, values, strict=True):
            if box.value() != v:
                with QSignalBlocker(box):
                    box.setValue(v)


def parse_ints(text: str) -> list[int] | None:
    """'1, 28, 28' or '1x28x28' -> [1, 28, 28]; None if it is not a list of whole numbers."""
    parts = [p for p in re.split(r"[\s,x×]+", text.strip()) if p]
    try:
        return [int(p) for p in parts] if parts else None
    except ValueError:
        return None


class IntsEditor(ParamEditor):
    """A list of whole numbers of any length, typed as '1, 28, 28'."""

    def __init__(self, param: Param) -> None:
        self.line = QLineEdit()
        self.line.setPlaceholderText("e.g. 1, 28, 28")
        super().__init__(param, self.line)
        self.line.textEdited.connect(self._on_line_text_edited)

    def _on_line_text_edited(self, text: str) -> None:
        values = parse_ints(text)
        problem = "" if values is not None else (
            f"{self.param.name}: write whole numbers separated by commas")
        if problem != self.problem:
            self.problem = problem
            self.problem_changed.emit()
        self.line.setProperty("invalid", values is None)
        self.line.style().polish(self.line)
        if values is not None:
            self.edited.emit(values)

    def _show(self, raw: Any) -> None:
        if self.problem:
            return  # keep the user's unfinished text; the message says what is wrong
        values = list(raw) if isinstance(raw, list | tuple) else list(self.param.default)
        if parse_ints(self.line.text()) != values:
            self.line.setText(", ".join(str(v) for v in values))


EDITORS: dict[str, type[ParamEditor]] = {
    "int": IntEditor, "float": FloatEditor, "bool": BoolEditor, "choice": ChoiceEditor,
    "str": TextEditor, "size": SizeEditor, "ints": IntsEditor,
}


def make_editor(param: Param) -> ParamEditor:
    return EDITORS.get(param.kind, TextEditor)(param)
