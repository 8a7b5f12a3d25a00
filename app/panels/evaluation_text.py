"""The evaluation panel's text classification view: the split's texts the model got wrong
(or those of a chosen confusion-matrix cell) with their true and predicted classes and
the confidence, and under them a line that leads to the Try it tab, where the user types
a text of their own.

It sits where image classifiers have their gallery, beside the metrics table and the
confusion matrix, and shows an :class:`app.panels.run_results.Evaluation` whose
``texts`` are the split's original texts (``app.panels.lang_results.fill``).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.panels.evaluation_lang import TextTable, TryLink, class_rows
from app.panels.run_results import Evaluation


class TextSamplesSection(QWidget):
    """Texts table over the Try it link; ``indices`` are the split positions listed.
    ``try_requested`` when the user follows the link."""

    try_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: Evaluation | None = None
        self.indices: list[int] = []
        self.table = TextTable(["Text", "True", "Predicted", "Confidence"])
        self.table.setMinimumHeight(160)
        self.try_link = TryLink("text")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.try_link)
        self.try_link.clicked.connect(self.try_requested)

    def show_result(self, r: Evaluation) -> None:
        """A new evaluation (the table is filled by show_samples)."""
        self.result = r
        self.table.clear_all()

    def show_samples(self, indices: list[int]) -> None:
        """List the samples at ``indices`` of the split, in that order."""
        r = self.result
        if r is None:
            return
        self.indices = list(indices)
        texts = r.texts
        self.table.fill(class_rows(r, indices, lambda i: texts[i] if i < len(texts) else f"#{i}"),
                        stretch=(0,))

    def clear_all(self) -> None:
        self.result, self.indices = None, []
        self.table.clear_all()

    def shutdown(self) -> None:
        """Nothing runs in the background here (the panel's own jobs evaluate)."""
