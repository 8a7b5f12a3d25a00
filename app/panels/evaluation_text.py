"""The evaluation panel's text classification view: the split's texts the model got wrong
(or those of a chosen confusion-matrix cell) with their true and predicted classes and
the confidence, and a Try box: type a text, get the five likeliest classes.

It sits where image classifiers have their gallery, beside the metrics table and the
confusion matrix, and shows an :class:`app.panels.run_results.Evaluation` whose
``texts`` are the split's original texts (``app.panels.lang_results.fill``).
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.panels import lang_results
from app.panels.evaluation_lang import TextTable, TryBox, class_rows
from app.panels.run_results import Evaluation, RunCache


class TextSamplesSection(QWidget):
    """Texts table over the Try box; ``indices`` are the split positions listed."""

    def __init__(self, cache: RunCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.result: Evaluation | None = None
        self.indices: list[int] = []
        self.table = TextTable(["Text", "True", "Predicted", "Confidence"])
        self.table.setMinimumHeight(160)
        self.try_box = TryBox("Type a text and press Enter: the likeliest classes")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.try_box)

    def show_result(self, r: Evaluation) -> None:
        """A new evaluation: Try asks its run (the table is filled by show_samples)."""
        self.result = r
        self.table.clear_all()
        cache, run_dir = self.cache, r.run_dir
        self.try_box.set_answer(lambda text: lang_results.answer_text(cache, run_dir, text))

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
        self.try_box.set_answer(None)

    def shutdown(self) -> None:
        self.try_box.shutdown()
