"""The dataset form's rows for text data: in the Source group the text and label (or source
and target) columns read from the file's header, a pairs set's second, aligned file and
what a bad entry does (:class:`TextRows`); in the Preparation group the tokenizer, its
vocabulary, lower-casing and the token lengths (:class:`TokenizerRows`).

Each row is one ``DatasetSpec`` field, edited through the ``set_field`` the panel hands in
(``GraphDocument.set_field``, so every edit is an undo step and a spin box's steps merge);
``show_values`` shows a spec with the rows' own signals blocked, ``show_rows`` shows the
rows the spec's data uses and hides the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.panels.dataset_text import TEXT_SOURCES, has_columns, header_columns, text_kind
from app.widgets.path_field import PathField, PathMode
from engine.files import read_error_message
from engine.project import DatasetSpec

SetField = Callable[[str, Any], None]

DETECTED = "(detected)"
TOKENIZERS = [("char", "Characters"), ("word", "Words"), ("bpe", "Subwords (BPE)")]
BAD_ENTRIES = [("stop", "Stop"), ("skip", "Skip")]
TEXT_FILES = "Text data (*.csv *.tsv *.jsonl *.txt);;All files (*)"
#: the Path row's label and placeholder for each text source
PATHS = {
    "texts": ("Text file", "CSV, TSV or JSONL file, or a folder of one folder per class"),
    "pairs": ("Pairs file", "CSV, TSV or JSONL of source and target, or the source side"),
}
#: the column rows' labels: (text, label) for texts, (source, target) for pairs
COLUMN_LABELS = {"texts": ("Text column", "Label column"),
                 "pairs": ("Source column", "Target column")}


def no_start_dir() -> str:
    """The dialogs open in Qt's default folder, not at a (relative) path of the project."""
    return ""


def choice_combo(items: list[tuple[str, str]], tooltip: str) -> QComboBox:
    combo = QComboBox()
    for value, text in items:
        combo.addItem(text, value)
    combo.setToolTip(tooltip)
    # a long column name must not widen the dock
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return combo


def _set_label(form: QFormLayout, field: QWidget, text: str) -> None:
    label = form.labelForField(field)
    if isinstance(label, QLabel):
        label.setText(text)


class SideFileRows:
    """Two rows text pairs and speech sets both have, added to the Source group's form: a
    file beside the data (``target_path``: a pairs set's target side, a speech set's
    transcripts) and what a bad entry does (``bad_entries``)."""

    def __init__(self, form: QFormLayout, set_field: SetField, label: str,
                 side_file: PathField, bad_tooltip: str) -> None:
        self.form = form
        self.side_file = side_file
        self.bad = choice_combo(BAD_ENTRIES, bad_tooltip)
        form.addRow(label, side_file)
        form.addRow("Bad entries", self.bad)
        side_file.committed.connect(lambda path: set_field("target_path", path))
        self.bad.activated.connect(lambda i: set_field("bad_entries", self.bad.itemData(i)))

    def show_values(self, s: DatasetSpec) -> None:
        with QSignalBlocker(self.side_file.edit), QSignalBlocker(self.bad):
            if self.side_file.text() != s.target_path:
                self.side_file.setText(s.target_path)
            self.bad.setCurrentIndex(max(0, self.bad.findData(s.bad_entries)))


class TextRows(SideFileRows):
    """The column, aligned-file and bad-entry rows, added to the Source group's form; and a
    Folder… button on the path field (a texts set may be a folder of class folders)."""

    def __init__(self, form: QFormLayout, set_field: SetField, path_field: PathField) -> None:
        self.path_field = path_field
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Choose a folder holding one folder of .txt files "
                                      "per class.")
        path_field.layout().addWidget(self.folder_button)
        self.folder_button.hide()
        self.text_column = choice_combo([("", DETECTED)], "The column holding the text. Detected: "
                                  "a column named text, sentence, review, source, src or "
                                  "input, else the first one.")
        self.label_column = choice_combo([("", DETECTED)], "The column holding the label (pairs: "
                                   "the target text). Detected: label, class, category, "
                                   "sentiment, target, tgt or output, else the other one.")
        self.target_file = PathField(PathMode.OPEN_FILE, "Choose the target side's file",
                                     name_filter=TEXT_FILES, start_dir=no_start_dir)
        self.target_file.setPlaceholderText("none: both sides in the pairs file")
        self.target_file.setToolTip(
            "Two aligned files: the pairs file holds the sources and this one the targets, "
            "one text per line, line n of one the pair of line n of the other.")
        self.columns_apply = False  # the path is one file with named columns
        form.addRow("Text column", self.text_column)
        form.addRow("Label column", self.label_column)
        super().__init__(form, set_field, "Target file", self.target_file,
                         "A row without text, an empty or unknown label, files whose line "
                         "counts differ: stop loading with a message naming the file and "
                         "the row, or leave such rows out and count them in the preview.")
        self.folder_button.clicked.connect(self.browse_folder)
        self.text_column.activated.connect(
            lambda i: set_field("text_column", self.text_column.itemData(i)))
        self.label_column.activated.connect(
            lambda i: set_field("target", self.label_column.itemData(i)))

    def browse_folder(self) -> str:
        """Pick a folder of class folders for the Path field (committed as Browse… does)."""
        field = self.path_field
        mode, caption, filt = field.mode, field.caption, field.name_filter
        field.set_mode(PathMode.FOLDER, "Choose the folder of class folders",
                       start_dir=no_start_dir)
        try:
            return field.browse()
        finally:
            field.set_mode(mode, caption, name_filter=filt, start_dir=no_start_dir)

    def fill_columns(self, resolved: DatasetSpec) -> str:
        """The column choices from the header of ``resolved``'s file (its path made
        absolute); returns a problem for the user, or ""."""
        self.columns_apply = has_columns(resolved)
        header: list[str] = []
        problem = ""
        if self.columns_apply:
            try:
                header = header_columns(resolved.path)
            except OSError as e:
                problem = read_error_message(resolved.path, e, what="a text data file")
            except ValueError as e:
                problem = f"{resolved.path}: cannot read the column names: {e}"
        for combo, value in ((self.text_column, resolved.text_column),
                             (self.label_column, resolved.target)):
            with QSignalBlocker(combo):
                combo.clear()
                combo.addItem(DETECTED, "")
                for name in header:
                    combo.addItem(name, name)
                if value and value not in header:
                    combo.addItem(f"{value} (not in the file)", value)
                combo.setCurrentIndex(max(0, combo.findData(value)))
        return problem

    def show_rows(self, s: DatasetSpec) -> None:
        files = s.source in TEXT_SOURCES
        labels = COLUMN_LABELS.get(s.source)
        if labels:
            _set_label(self.form, self.text_column, labels[0])
            _set_label(self.form, self.label_column, labels[1])
        self.form.setRowVisible(self.text_column, files and self.columns_apply)
        self.form.setRowVisible(self.label_column, files and self.columns_apply)
        self.form.setRowVisible(self.target_file, s.source == "pairs")
        self.form.setRowVisible(self.bad, files)
        self.folder_button.setVisible(s.source == "texts")
        # a file or a folder: two short buttons leave the path room in a narrow dock
        self.path_field.button.setText("File…" if s.source == "texts" else "Browse…")


class TokenizerRows:
    """How text becomes token ids (Preparation group): the tokenizer, the vocabulary's
    size, lower-casing, a pairs set's shared vocabulary, and the most tokens kept."""

    def __init__(self, form: QFormLayout, set_field: SetField) -> None:
        self.form = form
        self.tokenizer = choice_combo(TOKENIZERS, "Characters: one token per character. Words: "
                                "one per word and punctuation mark. Subwords: byte-pair "
                                "encoding learnt from the training split.")
        self.vocab_size = QSpinBox()
        self.vocab_size.setRange(16, 1_000_000)
        self.vocab_size.setSingleStep(500)
        self.vocab_size.setToolTip("The most words or subwords kept (the commonest of the "
                                   "training split); the others read as unknown.")
        self.lowercase = QCheckBox("Lowercase the text")
        self.shared = QCheckBox("One vocabulary for source and target")
        self.shared.setToolTip("One tokenizer for both sides (for example the same "
                               "language); off: one per side.")
        self.seq_len = QSpinBox()
        self.seq_len.setRange(2, 100_000)
        self.seq_len.setToolTip("Longer texts are cut, shorter ones padded.")
        self.target_len = QSpinBox()
        self.target_len.setRange(3, 4096)
        self.target_len.setToolTip("The most target tokens, the start and end tokens "
                                   "included; longer targets are cut.")
        form.addRow("Tokenizer", self.tokenizer)
        form.addRow("Vocabulary size", self.vocab_size)
        form.addRow(self.lowercase)
        form.addRow(self.shared)
        form.addRow("Max tokens", self.seq_len)
        form.addRow("Target max tokens", self.target_len)
        self.tokenizer.activated.connect(
            lambda i: set_field("tokenizer", self.tokenizer.itemData(i)))
        self.vocab_size.valueChanged.connect(lambda v: set_field("vocab_size", v))
        self.lowercase.toggled.connect(lambda v: set_field("lowercase", v))
        self.shared.toggled.connect(lambda v: set_field("shared_vocab", v))
        self.seq_len.valueChanged.connect(lambda v: set_field("seq_len", v))
        self.target_len.valueChanged.connect(lambda v: set_field("target_len", v))

    @property
    def widgets(self) -> list[QWidget]:
        return [self.tokenizer, self.vocab_size, self.lowercase, self.shared, self.seq_len,
                self.target_len]

    def show_values(self, s: DatasetSpec) -> None:
        blockers = [QSignalBlocker(w) for w in self.widgets]
        self.tokenizer.setCurrentIndex(max(0, self.tokenizer.findData(s.tokenizer)))
        self.vocab_size.setValue(s.vocab_size)
        self.lowercase.setChecked(s.lowercase)
        self.shared.setChecked(s.shared_vocab)
        self.seq_len.setValue(s.seq_len)
        self.target_len.setValue(s.target_len)
        del blockers
        # characters: the vocabulary is every character seen, whatever the size says
        self.vocab_size.setEnabled(s.tokenizer != "char")

    def show_rows(self, s: DatasetSpec) -> None:
        kind = text_kind(s)
        for w in (self.tokenizer, self.vocab_size, self.lowercase, self.seq_len):
            self.form.setRowVisible(w, bool(kind))
        for w in (self.shared, self.target_len):
            self.form.setRowVisible(w, kind == "pairs")
        _set_label(self.form, self.seq_len,
                   "Source max tokens" if kind == "pairs" else "Max tokens")
