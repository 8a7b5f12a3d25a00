"""The input side of the "Try it" panel, one page per kind of input: a picture (open,
paste, drop, or draw one when the model takes small grayscale pictures), a row of numbers,
a text, a language model's prompt with its length and temperature, a sound file.

Each page emits ``asked(value)`` with what :func:`app.panels.try_results.answer` takes
(a file path, image bytes, a uint8 drawing, a list of floats, a text), and
``refused(message)`` when what the user typed cannot be sent (a cell that is not a
number); ``options()`` are predict's options for the page (a language model's).
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.panels.try_results import TryFacts, parse_row
from app.widgets.draw_pad import DrawPad
from app.widgets.labels import plain_label
from engine.errors import UserError

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
SOUND_FILTER = "Sound files (*.wav *.flac *.ogg);;All files (*)"
#: a vector run with more features than this gets one row field, not a field each
MAX_FIELDS = 32
#: columns of feature fields
FIELD_COLUMNS = 2


class InputPage(QWidget):
    """What every page has: ``asked(value)``, ``refused(message)``, :meth:`configure`
    for a run, :meth:`options` for predict, :meth:`paste_text` for Ctrl+V of text."""

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

    def clear(self) -> None:
        """Forget the last input (another run)."""


def _layout(page: QWidget) -> QVBoxLayout:
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
        lay = _layout(self)
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
        lay = _layout(self)
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


class TextPage(InputPage):
    """A text field and Predict (Enter predicts too)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setClearButtonEnabled(True)
        self.button = QPushButton("Predict")
        lay = _layout(self)
        lay.addWidget(self.edit)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(1)
        self.edit.returnPressed.connect(self._ask)
        self.button.clicked.connect(self._ask)

    def configure(self, facts: TryFacts) -> None:
        super().configure(facts)
        seq = facts.kind == "seq2seq"
        self.edit.setPlaceholderText("Type a text to translate" if seq
                                     else "Type a text to classify")
        self.button.setText("Translate" if seq else "Predict")

    def clear(self) -> None:
        self.edit.clear()

    def paste_text(self, text: str) -> None:
        self.edit.setText(text.strip())
        self._ask()

    def _ask(self) -> None:
        text = self.edit.text()
        if text.strip():
            self.asked.emit(text)
        else:
            self.refused.emit("type a text first")


class LanguagePage(TextPage):
    """A prompt, the length to generate, the temperature (0: always the likeliest next
    token) and Generate; each Generate draws anew."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.length = QSpinBox()
        self.length.setRange(1, 1000)
        self.length.setValue(100)
        self.length.setToolTip("How many tokens to generate")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip("0 takes the likeliest next token every time; higher "
                                    "values surprise more")
        row = QHBoxLayout()
        row.addWidget(plain_label("Length", wrap=False))
        row.addWidget(self.length)
        row.addSpacing(12)
        row.addWidget(plain_label("Temperature", wrap=False))
        row.addWidget(self.temperature)
        row.addStretch(1)
        lay = self.layout()
        assert isinstance(lay, QVBoxLayout)
        lay.insertLayout(1, row)
        self._seed = 0

    def configure(self, facts: TryFacts) -> None:
        InputPage.configure(self, facts)
        self.edit.setPlaceholderText("Type the start of a text")
        self.button.setText("Generate")

    def options(self) -> dict[str, Any]:
        return {"length": self.length.value(), "temperature": self.temperature.value(),
                "seed": self._seed}

    def _ask(self) -> None:
        self._seed = random.randrange(2**31)
        self.asked.emit(self.edit.text())  # an empty prompt: the model starts on its own


class SoundPage(InputPage):
    """Open WAV… (or drop a sound file); the answer shows the clip as the model heard it,
    with Play."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Open WAV…")
        self.file = plain_label(role="muted")
        self.hint = plain_label("or drop a WAV or FLAC file here", role="muted")
        lay = _layout(self)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.hint)
        lay.addWidget(self.file)
        lay.addStretch(1)
        self.button.clicked.connect(self._on_button_clicked)
        self.asked.connect(lambda value: self.file.setText(str(value)))

    def clear(self) -> None:
        self.file.clear()

    def _on_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Try a sound file", "", SOUND_FILTER)
        if path:
            self.asked.emit(path)


#: the page for each predict kind
PAGES = {"image": ImagePage, "segmentation": ImagePage, "detection": ImagePage,
         "vector": VectorPage, "regression": VectorPage, "text": TextPage,
         "seq2seq": TextPage, "language": LanguagePage, "sound": SoundPage,
         "speech": SoundPage}
