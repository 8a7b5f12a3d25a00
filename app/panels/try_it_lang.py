"""The "Try it" panel's pages for words and sound: a text to classify or translate, a
language model's prompt with its length and temperature, a sound file to classify or
transcribe. Sequence-to-sequence and speech runs decode with a beam width the user may
change (the run's own at first); a change answers the last input again, so the user sees
what the wider search gives for the same text or clip.

The pages are :class:`app.panels.try_it_inputs.InputPage`s: ``asked(value)`` with a text
or a file's path, ``options()`` for :func:`engine.train.predict.predict`.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.panels.try_it_inputs import InputPage, page_layout
from app.panels.try_results import TryFacts
from app.widgets.labels import plain_label

SOUND_FILTER = "Sound files (*.wav *.flac *.ogg);;All files (*)"
#: the widest beam offered (the project's own setting has the same bound)
MAX_BEAM = 64


def spaced_row(*groups: QWidget | tuple[QWidget, ...]) -> QHBoxLayout:
    """A left-aligned row of widgets: each group (a widget, or a label with its box) a
    little apart from the next, the free room on the right."""
    row = QHBoxLayout()
    for i, group in enumerate(groups):
        if i:
            row.addSpacing(12)
        for widget in group if isinstance(group, tuple) else (group,):
            row.addWidget(widget)
    row.addStretch(1)
    return row


class BeamWidth(QWidget):
    """"Beam width" and its spin box; ``changed(width)`` when the user changes it (never
    when the page sets the run's own)."""

    changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QSpinBox()
        self.box.setRange(1, MAX_BEAM)
        self.box.setToolTip("Decode keeping this many best partial outputs at each step "
                            "(1 = greedy). Starts at the project's beam width, which a "
                            "change here leaves as it is.")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(plain_label("Beam width", wrap=False))
        row.addWidget(self.box)
        self.box.valueChanged.connect(self.changed)

    def set_width(self, width: int) -> None:
        self.box.blockSignals(True)
        self.box.setValue(max(1, int(width)))
        self.box.blockSignals(False)

    def value(self) -> int:
        return self.box.value()


class TextPage(InputPage):
    """A text field and Predict (Enter predicts too); a seq2seq run's page says Translate
    and has a beam width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setClearButtonEnabled(True)
        self.button = QPushButton("Predict")
        self.beam = BeamWidth()
        self.beam.hide()
        lay = page_layout(self)
        lay.addWidget(self.edit)
        lay.addLayout(spaced_row(self.button, self.beam))
        lay.addStretch(1)
        self._asked = False  # a text was asked: a new beam width asks it again
        self.edit.returnPressed.connect(self._ask)
        self.button.clicked.connect(self._ask)
        self.beam.changed.connect(self._on_beam_changed)

    def configure(self, facts: TryFacts) -> None:
        super().configure(facts)
        seq = facts.kind == "seq2seq"
        self.edit.setPlaceholderText("Type a text to translate" if seq
                                     else "Type a text to classify")
        self.button.setText("Translate" if seq else "Predict")
        self.beam.setVisible(seq)
        self.beam.set_width(facts.beam_width)

    def options(self) -> dict[str, Any]:
        return {"beam_width": self.beam.value()} if self.beam.isVisibleTo(self) else {}

    def clear(self) -> None:
        self.edit.clear()
        self._asked = False

    def focus_input(self) -> None:
        self.edit.setFocus()

    def paste_text(self, text: str) -> None:
        self.edit.setText(text.strip())
        self._ask()

    def _ask(self) -> None:
        text = self.edit.text()
        if text.strip():
            self._asked = True
            self.asked.emit(text)
        else:
            self.refused.emit("type a text first")

    def _on_beam_changed(self, _width: int) -> None:
        if self._asked and self.edit.text().strip():
            self._ask()


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
        lay = self.layout()
        assert isinstance(lay, QVBoxLayout)
        lay.insertLayout(1, spaced_row((plain_label("Length", wrap=False), self.length),
                                       (plain_label("Temperature", wrap=False),
                                        self.temperature)))
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
    """Open WAV… (or drop a sound file); a speech run's page has a beam width. The answer
    shows the clip as the model heard it, with Play."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Open WAV…")
        self.beam = BeamWidth()
        self.beam.hide()
        self.file = plain_label(role="muted")
        self.hint = plain_label("or drop a WAV or FLAC file here", role="muted")
        self.last = ""  # the file asked last: a new beam width asks it again
        lay = page_layout(self)
        lay.addLayout(spaced_row(self.button, self.beam))
        lay.addWidget(self.hint)
        lay.addWidget(self.file)
        lay.addStretch(1)
        self.button.clicked.connect(self._on_button_clicked)
        self.beam.changed.connect(self._on_beam_changed)

    def configure(self, facts: TryFacts) -> None:
        super().configure(facts)
        speech = facts.kind == "speech"
        self.button.setText("Open a recording…" if speech else "Open WAV…")
        self.beam.setVisible(speech)
        self.beam.set_width(facts.beam_width)

    def options(self) -> dict[str, Any]:
        return {"beam_width": self.beam.value()} if self.beam.isVisibleTo(self) else {}

    def took(self, value: Any) -> None:
        self.last = str(value)
        self.file.setText(self.last)

    def clear(self) -> None:
        self.last = ""
        self.file.clear()

    def focus_input(self) -> None:
        self.button.setFocus()

    def _on_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Try a sound file", "", SOUND_FILTER)
        if path:
            self.asked.emit(path)

    def _on_beam_changed(self, _width: int) -> None:
        if self.last:
            self.asked.emit(self.last)
