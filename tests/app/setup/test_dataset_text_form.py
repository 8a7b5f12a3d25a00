"""The dataset panel's text sources (labelled texts, text pairs) and their built-ins: their
rows show only for them, the column choices come from the file's header, and every edit
lands in the project through the document as one undo step."""

from __future__ import annotations

import json

import pytest

from tests.app.conftest import chain_project
from tests.app.setup.conftest import choose, type_path, wait_idle


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def _shown(form, widget) -> bool:
    return form.isRowVisible(widget)


def _label(form, widget) -> str:
    return form.labelForField(widget).text()


def _items(combo) -> list[str]:
    return [combo.itemData(i) for i in range(combo.count())]


def test_labelled_texts_ask_for_a_file_its_columns_a_tokenizer_and_lengths(panel, tmp_path):
    doc = panel.document
    rows, tokens = panel.source_box.text, panel.prep_box.tokens
    assert not _shown(panel.source_form, rows.text_column)  # a built-in: none of these
    assert not _shown(panel.prep_form, tokens.tokenizer)
    data = tmp_path / "reviews.csv"
    data.write_text("id,review,stars\n1,a fine phone,good\n2,awful,bad\n", encoding="utf-8")
    count = doc.undo_stack.count()
    choose(panel.source_combo, "texts")
    assert doc.project.dataset.source == "texts"
    assert doc.undo_stack.count() == count + 1  # the source: one step
    assert _label(panel.source_form, panel.path_field) == "Text file"
    assert rows.folder_button.isVisibleTo(panel)  # or a folder of class folders
    type_path(panel.path_field, str(data))
    # the columns come from the header; the image and normalisation rows are gone
    assert _items(rows.text_column) == ["", "id", "review", "stars"]
    assert _items(rows.label_column) == ["", "id", "review", "stars"]
    assert rows.text_column.currentText() == "(detected)"
    for w in (rows.text_column, rows.label_column, rows.bad):
        assert _shown(panel.source_form, w)
    assert not _shown(panel.source_form, rows.target_file)  # pairs only
    assert not _shown(panel.source_form, panel.target_combo)
    assert _label(panel.source_form, rows.label_column) == "Label column"
    for w in (tokens.tokenizer, tokens.vocab_size, tokens.lowercase, tokens.seq_len):
        assert _shown(panel.prep_form, w)
    for w in (tokens.shared, tokens.target_len, panel.image_size, panel.normalize,
              panel.prep_box.sound.sample_rate):
        assert not _shown(panel.prep_form, w)
    assert _label(panel.prep_form, tokens.seq_len) == "Max tokens"
    choose(rows.text_column, "review")
    choose(rows.label_column, "stars")
    choose(tokens.tokenizer, "bpe")
    tokens.vocab_size.setValue(2000)
    tokens.lowercase.setChecked(False)
    tokens.seq_len.setValue(128)
    choose(rows.bad, "skip")
    d = doc.project.dataset
    assert (d.path, d.text_column, d.target, d.tokenizer, d.vocab_size, d.lowercase,
            d.seq_len, d.bad_entries) == (str(data), "review", "stars", "bpe", 2000, False,
                                          128, "skip")
    assert doc.undo_stack.count() == count + 9  # one step per edit
    doc.undo()
    assert rows.bad.currentData() == "stop"
    doc.undo()
    assert tokens.seq_len.value() == 64
    doc.undo()
    assert tokens.lowercase.isChecked()
    doc.undo()
    doc.undo()
    assert tokens.tokenizer.currentData() == "word"
    doc.undo()
    assert rows.label_column.currentData() == "" and doc.project.dataset.target == ""
    for _ in range(3):
        doc.undo()
    assert doc.project.dataset == chain_project().dataset
    assert not _shown(panel.source_form, rows.text_column)
    assert not rows.folder_button.isVisibleTo(panel)


def test_folder_picks_a_folder_of_class_folders_as_the_path(panel, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *_args: str(tmp_path)))
    doc = panel.document
    choose(panel.source_combo, "texts")
    count = doc.undo_stack.count()
    rows = panel.source_box.text
    assert panel.path_field.button.text() == "File…"
    rows.folder_button.click()
    assert doc.project.dataset.path == str(tmp_path)
    assert doc.undo_stack.count() == count + 1
    assert panel.path_field.mode.value == "open"  # File… still opens a file


def test_a_spin_box_dragged_through_many_values_is_one_undo_step(panel):
    doc = panel.document
    doc.set_field("dataset", "source", "texts")
    count = doc.undo_stack.count()
    for v in range(65, 80):
        panel.prep_box.tokens.seq_len.setValue(v)
    assert doc.project.dataset.seq_len == 79
    assert doc.undo_stack.count() == count + 1


def test_a_column_not_in_the_file_is_kept_and_said(panel, tmp_path):
    data = tmp_path / "reviews.jsonl"
    data.write_text(json.dumps({"sentence": "fine", "label": "good"}) + "\n", encoding="utf-8")
    doc = panel.document
    for field, value in (("source", "texts"), ("path", str(data)), ("text_column", "body")):
        doc.set_field("dataset", field, value)
    combo = panel.source_box.text.text_column
    assert _items(combo) == ["", "sentence", "label", "body"]  # JSON Lines: the first keys
    assert combo.currentText() == "body (not in the file)"


def test_a_folder_of_class_folders_has_no_columns_to_choose(panel, tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "a.txt").write_text("fine", encoding="utf-8")
    doc = panel.document
    doc.set_field("dataset", "source", "texts")
    doc.set_field("dataset", "path", str(tmp_path))
    rows = panel.source_box.text
    assert not _shown(panel.source_form, rows.text_column)
    assert _shown(panel.source_form, rows.bad)


def test_pairs_ask_for_source_and_target_columns_or_a_second_aligned_file(panel, tmp_path):
    doc = panel.document
    rows, tokens = panel.source_box.text, panel.prep_box.tokens
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("src\ttgt\nhello\tbonjour\n", encoding="utf-8")
    choose(panel.source_combo, "pairs")
    type_path(panel.path_field, str(pairs))
    assert _label(panel.source_form, panel.path_field) == "Pairs file"
    assert not rows.folder_button.isVisibleTo(panel)
    assert _label(panel.source_form, rows.text_column) == "Source column"
    assert _label(panel.source_form, rows.label_column) == "Target column"
    assert _items(rows.label_column) == ["", "src", "tgt"]  # a TSV: split on tabs
    for w in (tokens.shared, tokens.target_len, tokens.seq_len):
        assert _shown(panel.prep_form, w)
    assert _label(panel.prep_form, tokens.seq_len) == "Source max tokens"
    count = doc.undo_stack.count()
    tokens.shared.setChecked(False)
    tokens.target_len.setValue(40)
    type_path(rows.target_file, str(tmp_path / "targets.txt"))
    d = doc.project.dataset
    assert (d.shared_vocab, d.target_len, d.target_path) == (
        False, 40, str(tmp_path / "targets.txt"))
    assert doc.undo_stack.count() == count + 3
    # two aligned files: each line is a text, there are no columns
    assert not _shown(panel.source_form, rows.text_column)
    doc.undo()
    assert rows.target_file.text() == ""
    assert _shown(panel.source_form, rows.text_column)


@pytest.mark.parametrize(("name", "pairs"), [("sentiment", False), ("dates", True)])
def test_the_built_in_text_sets_show_the_tokenizer_rows_and_their_size(panel, qtbot, name,
                                                                       pairs):
    panel.load_catalogue()
    wait_idle(qtbot, panel.catalog)
    choose(panel.name_combo, name)
    tokens = panel.prep_box.tokens
    assert panel.document.project.dataset.name == name
    assert _shown(panel.source_form, panel.samples_spin)  # generated: its size can be set
    assert not _shown(panel.source_form, panel.source_box.text.text_column)
    assert not _shown(panel.source_form, panel.seq_spin)  # not a character window
    assert _shown(panel.prep_form, tokens.tokenizer)
    assert _shown(panel.prep_form, tokens.target_len) == pairs
    assert not _shown(panel.prep_form, panel.image_size)
    tokens.tokenizer.setCurrentIndex(tokens.tokenizer.findData("char"))
    tokens.tokenizer.activated.emit(tokens.tokenizer.currentIndex())
    assert panel.document.project.dataset.tokenizer == "char"
    assert not tokens.vocab_size.isEnabled()  # characters: every one seen is kept


def test_a_text_file_must_be_chosen_before_a_preview(panel):
    panel.document.set_field("dataset", "source", "pairs")
    panel.refresh_preview()
    assert panel.error.isVisibleTo(panel)
    assert panel.error.text() == "Choose the pairs file."
    assert not panel.loader.busy
