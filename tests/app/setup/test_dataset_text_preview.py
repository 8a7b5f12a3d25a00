"""The dataset panel previews text data: the first rows, the label counts, the token length
histograms and the problems found, for files and for the built-in sets; a bad row stops
the preview with the engine's sentence unless the user chose to skip such rows."""

from __future__ import annotations

import pytest

from tests.app.setup.conftest import cells, load_preview, set_dataset

REVIEWS = ("review,label\n"
           "a fine phone with a great screen,good\n"
           "awful screen,bad\n"
           ",good\n"
           "great battery,good\n"
           "not bad at all,good\n"
           "terrible,bad\n")


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def test_a_csv_of_labelled_texts_shows_rows_counts_lengths_and_problems(panel, qtbot,
                                                                        tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text(REVIEWS, encoding="utf-8")
    set_dataset(panel, source="texts", path=str(data), bad_entries="skip", val_fraction=0.2)
    loaded = []
    panel.data_loaded.connect(loaded.append)
    load_preview(panel, qtbot)
    view = panel.view.texts
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert view.isVisibleTo(panel) and not panel.view.audio.isVisibleTo(panel)
    assert not panel.view.tabs.isVisibleTo(panel)  # no tabular plot for text
    header = [view.table.horizontalHeaderItem(c).text() for c in range(3)]
    assert header == ["Text", "Label", "Split"]
    assert cells(view.table, 0)[:2] == ["a fine phone with a great screen", "awful screen"]
    assert cells(view.table, 1) == ["good", "bad", "good", "good", "bad"]
    assert view.counts.items == [("bad", 2), ("good", 3)]
    assert view.counts.isVisibleTo(panel)
    plot = view.length_plots[0]
    assert plot.isVisibleTo(panel) and not view.length_plots[1].isVisibleTo(panel)
    assert sum(plot.shown.counts) == 5 and max(plot.shown.edges) >= 7  # 7 words
    facts = view.facts.text()
    assert "Texts: 5" in facts and "Classes: 2" in facts
    assert "Columns: text 'review', label 'label'" in facts
    assert "Entries skipped: 1" in facts
    assert view.problems.isVisibleTo(panel)
    assert "line 4" in view.problems.text.toPlainText()
    assert loaded == [4]  # the train split's size
    assert "5 texts (4 train / 1 val and test), 2 classes" in panel.status.text()


def test_a_bad_row_stops_the_preview_with_the_file_and_line(panel, qtbot, tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text(REVIEWS, encoding="utf-8")
    set_dataset(panel, source="texts", path=str(data))  # bad entries: stop
    load_preview(panel, qtbot)
    assert panel.error.isVisibleTo(panel)
    assert "reviews.csv: line 4" in panel.error.text()
    assert "Skip" in panel.error.text()
    assert not panel.view.texts.isVisibleTo(panel)


def test_a_folder_of_class_folders_is_previewed(panel, qtbot, tmp_path):
    for label, texts in (("neg", ["dull", "bad film"]), ("pos", ["lovely", "a fine film"])):
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text, encoding="utf-8")
    set_dataset(panel, source="texts", path=str(tmp_path), val_fraction=0.25)
    load_preview(panel, qtbot)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    view = panel.view.texts
    assert view.counts.items == [("neg", 2), ("pos", 2)]
    assert sorted(cells(view.table, 0)) == ["a fine film", "bad film", "dull", "lovely"]


def test_pairs_show_source_and_target_and_both_length_histograms(panel, qtbot, tmp_path):
    data = tmp_path / "pairs.tsv"
    data.write_text("src\ttgt\n" + "".join(f"{n} apples\t{n}\n" for n in range(1, 21)),
                    encoding="utf-8")
    set_dataset(panel, source="pairs", path=str(data), tokenizer="char")
    load_preview(panel, qtbot)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    view = panel.view.texts
    header = [view.table.horizontalHeaderItem(c).text() for c in range(2)]
    assert header == ["Source", "Target"]
    assert cells(view.table, 0)[0] == "1 apples" and cells(view.table, 1)[0] == "1"
    assert all(p.isVisibleTo(panel) for p in view.length_plots)
    titles = [p.shown.title for p in view.length_plots]
    assert titles[0] == "tokens per source" and titles[1].startswith("tokens per target")
    assert not view.counts.isVisibleTo(panel)  # pairs have no labels to count
    assert "characters (source and target)" in view.facts.text()


def test_the_built_in_sentiment_set_is_previewed(panel, qtbot):
    set_dataset(panel, source="builtin", name="sentiment", samples=200)
    load_preview(panel, qtbot)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    view = panel.view.texts
    assert {n for n, _ in view.counts.items} == {"negative", "positive"}
    assert sum(c for _, c in view.counts.items) == 200
    assert view.table.rowCount() > 10
    assert not view.problems.isVisibleTo(panel)


def test_every_built_in_language_and_sound_set_is_previewed_as_its_kind():
    """A built-in set the engine adds without a kind here would show no preview."""
    from app.panels.dataset_text import BUILTIN_KINDS
    from engine.data.facts import AUDIO_BUILTINS, TEXT_BUILTINS

    assert set(BUILTIN_KINDS) == set(TEXT_BUILTINS) | set(AUDIO_BUILTINS)
