"""The input side of the "Try it" panel, one page per kind of input: here a picture (open,
paste, drop, or draw one when the model takes small grayscale pictures) and a row of
numbers; the text, prompt and sound pages are in :mod:`app.panels.try_it_lang`.

Each page emits ``asked(value)`` with what :func:`app.panels.try_results.answer` takes
(a file path, image bytes, a uint8 drawing, a list of floats, a text), and
``refused(message)`` when what the user typed cannot be sent (a cell that is not a
number); ``options()`` are predict's options for the page (a language model's length and
temperature, a seq2seq or speech run's beam width).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.panels.try_results import TryFacts, parse_row
from app.widgets.draw_pad import DrawPad
from app.widgets.labels import plain_label
from engine.errors import UserError

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
#: a vector run with more features than this gets one row field, not a field each
MAX_FIELDS = 32
#: columns of feature fields
FIELD_COLUMNS = 2


class InputPage(QWidget):
    """What every page has: ``asked(value)``, ``refused(message)``, :meth:`configure`
    for a run, :meth:`options` for predict, :meth:`paste_text` for Ctrl+V of text,
    :meth:`took` for an input the panel asked (a file dropped on it), :meth:`focus_input`
    when the user comes to try."""

    asked = Signal(object)
    refused = Signal(str)

    def configure(self, facts: TryFacts) -> None:
        self.facts = facts

    def options(self) -> dict[str, Any]:
        return {}

    def paste_text(self, text: str) -> None:
        """Ctrl+V of text on the panel (not in a field): a file's path, by default."""
        path = text.strip().strip('"').removeprefix("file://")
        if path:
            self.asked.emit(path)

    def took(self, value: Any) -> None:
        """``value`` was asked (from this page, or dropped on the panel)."""

    def focus_input(self) -> None:
        """Put the keyboard focus where the user gives an input."""
        self.setFocus()

    def clear(self) -> None:
        """Forget the last input (another run)."""


def page_layout(page: QWidget) -> QVBoxLayout:
    lay = QVBoxLayout(page)
    lay.setContentsMargins(0, 0, 0, 0)
    return lay


class ImagePage(InputPage):
    """Open image…, Paste, a hint that a file may be dropped, and the drawing pad with
    Clear for small grayscale inputs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.open_button = QPushButton("Open image…")
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("Paste an image, or an image file's path (Ctrl+V)")
        self.hint = plain_label("or drop an image file here", role="muted")
        self.pad = DrawPad()
        self.clear_button = QPushButton("Clear")
        self.pad_hint = plain_label("Draw with the mouse: the model answers when you let go.",
                                    role="muted")
        lay = page_layout(self)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.paste_button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.hint)
        lay.addSpacing(6)
        pad_row = QHBoxLayout()
        pad_row.addWidget(self.pad)
        side = QVBoxLayout()
        side.addWidget(self.clear_button)
        side.addStretch(1)
        pad_row.addLayout(side)
        pad_row.addStretch(1)
        lay.addLayout(pad_row)
        lay.addWidget(self.pad_hint)
        lay.addStretch(1)
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.paste_button.clicked.connect(self.paste)
        self.clear_button.clicked.connect(self.pad.clear)
        self.pad.drawn.connect(self.asked)

    def configure(self, facts: TryFacts) -> None:
        super().configure(facts)
        drawable = facts.drawable
        for w in (self.pad, self.clear_button, self.pad_hint):
            w.setVisible(drawable)
        if self.pad.ground != (255 if facts.dark_ink else 0):
            self.pad.set_dark_ink(facts.dark_ink)
        self.clear()

    def clear(self) -> None:
        if not self.pad.is_empty():
            self.pad.clear()

    def paste(self) -> None:
        """The clipboard's image (as PNG bytes), or its text as a file's path."""
        data = QGuiApplication.clipboard().mimeData()
        if data is None:
            return
        if data.hasImage():
            from PySide6.QtCore import QBuffer, QByteArray, QIODevice

            image = QGuiApplication.clipboard().image()
            raw = QByteArray()
            buffer = QBuffer(raw)
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buffer, "PNG")
            buffer.close()
            self.asked.emit(bytes(raw.data()))
        elif data.hasUrls() and data.urls()[0].isLocalFile():
            self.asked.emit(data.urls()[0].toLocalFile())
        elif data.hasText():
            self.paste_text(data.text())
        else:
            self.refused.emit("the clipboard holds no image and no file name to paste")

    def _on_open_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Try an image", "", IMAGE_FILTER)
        if path:
            self.asked.emit(path)


class VectorPage(InputPage):
    """A number field per feature (its name when the data has names), Paste row (a comma
    or tab separated row from the clipboard) and Predict. Many features: one row field."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: list[QLineEdit] = []
        self.names: list[str] = []
        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.row_edit = QLineEdit()
        self.row_edit.setPlaceholderText("numbers separated by commas or tabs")
        self.paste_button = QPushButton("Paste row")
        self.paste_button.setToolTip("Fill the fields from a comma or tab separated row on "
                                     "the clipboard, and predict")
        self.predict_button = QPushButton("Predict")
        self.predict_button.setDefault(True)
        lay = page_layout(self)
        lay.addWidget(self.grid_box)
        lay.addWidget(self.row_edit)
        row = QHBoxLayout()
        row.addWidget(self.paste_button)
        row.addWidget(self.predict_button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(1)
        self.paste_button.clicked.connect(self._on_paste_button_clicked)
        self.predict_button.clicked.connect(self.predict)
        self.row_edit.returnPressed.connect(self.predict)

    def configure(self, facts: TryFacts) -> None:
        super().configure(facts)
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        self.fields = []
        n = facts.inputs
        self.names = facts.features or [f"x{i + 1}" for i in range(n)]
        one_row = n > MAX_FIELDS or n == 0
        self.row_edit.setVisible(one_row)
        self.grid_box.setVisible(not one_row)
        self.row_edit.clear()
        if one_row:
            return
        for i, name in enumerate(self.names[:n]):
            field = QLineEdit()
            field.setPlaceholderText("0")
            field.setToolTip(name)
            field.returnPressed.connect(self.predict)
            r, c = divmod(i, FIELD_COLUMNS)
            label = plain_label(name, wrap=False)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(label, r, 2 * c)
            self.grid.addWidget(field, r, 2 * c + 1)
            self.fields.append(field)

    def clear(self) -> None:
        for f in self.fields:
            f.clear()
        self.row_edit.clear()

    def focus_input(self) -> None:
        (self.fields[0] if self.fields else self.row_edit).setFocus()

    def fill(self, values: list[float]) -> None:
        for field, v in zip(self.fields, values, strict=False):
            field.setText(f"{v:g}")

    def values(self) -> list[float]:
        """The numbers typed (an empty field is 0); UserError naming a field that is not
        a number."""
        if not self.fields:
            return parse_row(self.row_edit.text(), self.names)
        out = []
        for name, field in zip(self.names, self.fields, strict=False):
            text = field.text().strip() or "0"
            try:
                out.append(float(text))
            except ValueError:
                raise UserError(f"{name}: '{text}' is not a number") from None
        return out

    def predict(self) -> None:
        try:
            self.asked.emit(self.values())
        except UserError as e:
            self.refused.emit(str(e))

    def paste_text(self, text: str) -> None:
        """A pasted row fills the fields (or the row field) and predicts; a row of the
        wrong length goes to the model as it is, which says how many numbers it takes."""
        try:
            values = parse_row(text, self.names)
        except UserError as e:
            self.refused.emit(str(e))
            return
        if self.fields and len(values) == len(self.fields):
            self.fill(values)
        elif not self.fields:
            self.row_edit.setText(", ".join(f"{v:g}" for v in values))
        self.asked.emit(values)

    def _on_paste_button_clicked(self) -> None:
        self.paste_text(QGuiApplication.clipboard().text())
