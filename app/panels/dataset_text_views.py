"""TextPreview: what the dataset panel shows of text data (labelled texts and pairs).

The facts first (texts read, the columns used, entries skipped), then the problems found
(selectable text), a table of the first rows (text and label, or source and target), the
label counts as bars and the histograms of tokens per text (per source and per target for
pairs). All of it from a :class:`dataset_text.TextData`, as plain text. ``ProblemsView`` is
shared with the sound preview.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.dataset_text import TextData
from app.panels.dataset_text_plot import HistogramPlot
from app.text import plain_tooltip
from app.widgets.bar_chart import BarChart
from app.widgets.labels import plain_label

PROBLEM_LINES = 6  # lines of problems shown before the list scrolls
TABLE_HEIGHT = 240
CELL_CHARS = 300  # a long text is cut in its cell (the tooltip holds more)


class ProblemsView(QWidget):
    """The entries left out and why: a title with the count and the engine's sentences."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.title = plain_label(role="muted")
        self.text = QPlainTextEdit(readOnly=True)  # selectable, copyable
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFixedHeight(PROBLEM_LINES * self.text.fontMetrics().lineSpacing() + 12)
        v.addWidget(self.title)
        v.addWidget(self.text)

    def show_problems(self, problems: list[str], skipped: int) -> None:
        """Hidden when there are none."""
        self.title.setText(f"Problems found, the first {len(problems)} of {skipped}:"
                           if skipped > len(problems) else "Problems found:")
        self.text.setPlainText("\n".join(problems))
        self.setVisible(bool(problems))


def fill_table(table: QTableWidget, header: list[str], rows: list[list[str]],
               wide: int = 1) -> None:
    """``rows`` under ``header``, each cell plain text (long ones cut, whole in the
    tooltip); the first ``wide`` columns share the width (their text wraps), the others
    are as wide as their contents."""
    table.clear()
    table.setColumnCount(len(header))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(header)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            shown = cell if len(cell) <= CELL_CHARS else cell[:CELL_CHARS] + "…"
            item = QTableWidgetItem(shown)
            item.setToolTip(plain_tooltip(cell[:2000]) if cell else "")
            table.setItem(r, c, item)
    columns = table.horizontalHeader()
    for c in range(len(header)):
        columns.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch if c < wide
                                     else QHeaderView.ResizeMode.ResizeToContents)
    # a few rows take their own height, many scroll within TABLE_HEIGHT
    rows_height = sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(min(TABLE_HEIGHT, rows_height + columns.height()
                             + 2 * table.frameWidth() + 4))


def preview_table() -> QTableWidget:
    table = QTableWidget()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(True)  # a text reads whole in a narrow dock
    rows = table.verticalHeader()
    rows.hide()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


class TextPreview(QWidget):
    """The facts, problems, rows, label counts and token lengths of text data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: TextData | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.facts = plain_label()
        self.problems = ProblemsView()
        self.rows_title = plain_label("First rows", "muted")
        self.table = preview_table()
        self.counts_title = plain_label("Label counts", "muted")
        self.counts = BarChart()
        self.lengths_title = plain_label("Token lengths", "muted")
        self.length_plots = [HistogramPlot(), HistogramPlot()]
        for w in (self.facts, self.problems, self.rows_title, self.table, self.counts_title,
                  self.counts, self.lengths_title, *self.length_plots):
            v.addWidget(w)
        self.show_data(None)

    def show_data(self, data: TextData | None) -> None:
        """Show ``data`` (None: nothing, hidden)."""
        self.data = data
        self.setVisible(data is not None)
        if data is None:
            self.table.clear()
            for plot in self.length_plots:
                plot.show_histogram(None, "", "")
            return
        self.facts.setText("\n".join(facts_lines(data)))
        self.problems.show_problems(data.problems, data.skipped)
        fill_table(self.table, [h.capitalize() for h in data.header],
                   [list(r) for r in data.rows], wide=1 if data.kind == "texts" else 2)
        self.rows_title.setVisible(bool(data.rows))
        self.table.setVisible(bool(data.rows))
        self.counts.set_items(data.counts)
        self.counts_title.setVisible(bool(data.counts))
        self.counts.setVisible(bool(data.counts))
        for i, plot in enumerate(self.length_plots):
            hist = data.lengths[i] if i < len(data.lengths) else None
            plot.show_histogram(hist, hist.title if hist else "",
                                "texts" if data.kind == "texts" else "pairs")
            plot.setVisible(hist is not None)
        self.lengths_title.setVisible(bool(data.lengths))


TOKEN_NAMES = {"char": "characters", "word": "words", "bpe": "subwords"}


def _longest(what: str, longest: int, cut: int, limit: str) -> str:
    line = f"Longest {what}: {longest:,} tokens"
    return line + (f" ({cut:,} longer than {limit} are cut)" if cut else "")


def facts_lines(data: TextData) -> list[str]:
    """The texts read, the columns used, the vocabulary, the longest texts and the entries
    skipped, one per line."""
    s = data.summary
    lines = [f"{'Texts' if data.kind == 'texts' else 'Pairs'}: {data.samples:,}"]
    if data.kind == "texts" and data.counts:
        lines.append(f"Classes: {len(data.counts)}")
    if data.columns:
        lines.append(f"Columns: {data.columns}")
    tokens = TOKEN_NAMES.get(str(s.get("tokenizer", "")), "tokens")
    if "vocab_size" in s:
        vocab = f"Vocabulary: {int(s['vocab_size']):,} {tokens}"
        if data.kind == "pairs":
            vocab += (" (source and target)" if s.get("shared_vocab") else
                      f" (source), {int(s.get('target_vocab_size', 0)):,} (target)")
        lines.append(vocab)
    if data.kind == "texts" and "longest" in s:
        lines.append(_longest("text", int(s["longest"]), int(s.get("truncated", 0)),
                              "Max tokens"))
    elif "longest" in s:
        lines.append(_longest("source", int(s["longest"]), int(s.get("truncated", 0)),
                              "Source max tokens"))
        lines.append(_longest("target", int(s.get("target_longest", 0)),
                              int(s.get("target_truncated", 0)), "Target max tokens"))
    lines.append(f"Entries skipped: {data.skipped:,}" if data.skipped else
                 "Entries skipped: none")
    return lines
