"""The dataset panel edits project.dataset through the document and previews real data."""

from __future__ import annotations

import pytest

from app.document import GraphDocument
from app.panels.dataset import DatasetPanel
from engine.project import DatasetSpec
from tests.app.conftest import chain_project
from tests.app.setup.conftest import wait_idle


@pytest.fixture
def panel(qtbot):
    doc = GraphDocument(chain_project())
    p = DatasetPanel(doc)
    p.resize(420, 900)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def _choose(combo, data) -> None:
    i = combo.findData(data)
    assert i >= 0, data
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


def _set_source(panel, **fields) -> None:
    doc = panel.document
    for k, v in fields.items():
        doc.set_field("dataset", k, v)


def test_builtin_choice_and_split_edits_go_through_the_document(panel, qtbot):
    doc = panel.document
    doc.set_field("dataset", "source", "csv")
    panel.load_catalogue()
    wait_idle(qtbot, panel.catalog)
    start = doc.project.dataset.model_copy()
    count = doc.undo_stack.count()
    _choose(panel.source_combo, "builtin")
    assert doc.project.dataset.source == "builtin"
    assert doc.project.dataset.name == "spirals"  # the first built-in set, same undo step
    assert doc.undo_stack.count() == count + 1
    _choose(panel.name_combo, "moons")
    assert doc.project.dataset.name == "moons"
    assert "half circles" in panel.description.text()
    for v in (25, 30, 35):  # one drag of the slider
        panel.val_slider.setValue(v)
    assert doc.project.dataset.val_fraction == pytest.approx(0.35)
    assert panel.val_label.text() == "35%"
    panel.flip.setChecked(True)
    panel.rotate.setValue(15.0)
    assert doc.project.dataset.augment_flip and doc.project.dataset.augment_rotate == 15.0
    assert doc.undo_stack.count() == count + 5
    doc.undo()
    doc.undo()
    assert not panel.flip.isChecked() and panel.rotate.value() == 0.0
    doc.undo()
    assert doc.project.dataset.val_fraction == start.val_fraction
    assert panel.val_slider.value() == round(start.val_fraction * 100)
    doc.undo()
    doc.undo()
    assert doc.project.dataset == start
    assert panel.source_combo.currentData() == "csv"


def test_csv_column_picker_reads_the_header(panel, tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("rooms,area,price\n3,70.5,210\n4,99,320\n2,50,150\n", encoding="utf-8")
    _set_source(panel, source="csv")
    panel.path_edit.setText(str(path))
    panel.path_edit.editingFinished.emit()
    assert panel.document.project.dataset.path == str(path)
    names = [panel.target_combo.itemData(i) for i in range(panel.target_combo.count())]
    assert names == ["", "rooms", "area", "price"]
    _choose(panel.target_combo, "area")
    assert panel.document.project.dataset.target == "area"


def test_ragged_csv_shows_the_error_inline_naming_the_line(panel, qtbot, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,z\n6,7,x\n" * 1, encoding="utf-8")
    _set_source(panel, source="csv", path=str(path))
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)
    assert panel.error.isVisibleTo(panel)
    text = panel.error.text()
    assert "ragged.csv" in text and "line 4" in text
    assert "Traceback" not in text


def test_preview_of_an_image_set_shows_labelled_samples_and_class_counts(panel, qtbot):
    _set_source(panel, source="builtin", name="shapes", samples=60, val_fraction=0.25)
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)
    p = panel.preview
    assert p is not None and p.kind == "image"
    assert panel.gallery.count() == len(p.images) > 0
    classes = [name for name, _ in p.counts]
    assert {panel.gallery.item(i).text() for i in range(panel.gallery.count())} <= set(classes)
    assert sum(n for _, n in panel.counts.items) == p.train_size == 45
    assert not panel.error.isVisibleTo(panel)


def test_preview_of_a_text_set_shows_an_excerpt(panel, qtbot, corpus_file):
    _set_source(panel, source="text", path=str(corpus_file), seq_len=16)
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)
    excerpt = panel.excerpt.toPlainText()
    assert excerpt and excerpt[:40] in corpus_file.read_text() * 2
    assert panel.excerpt.isVisibleTo(panel) and not panel.gallery.isVisibleTo(panel)


def test_fit_model_to_data_is_one_undo_step_and_lists_the_changes(panel, qtbot):
    doc = panel.document
    doc.replace_project(chain_project())
    doc.set_field("dataset", "name", "blobs")  # 2 features, 4 classes; the model has [4] -> 3
    count = doc.undo_stack.count()
    panel.fit_model()
    wait_idle(qtbot, panel.loader)
    assert doc.node("model", "x").params["shape"] == [2]
    assert doc.node("model", "fc2").params["out_features"] == 4
    assert doc.undo_stack.count() == count + 1
    text = panel.fit_label.text()
    assert "model/x" in text and "model/fc2: out_features set to 4" in text
    doc.undo()
    assert doc.node("model", "x").params["shape"] == [4]
    assert doc.node("model", "fc2").params["out_features"] == 3


def test_panel_follows_a_replaced_project(panel):
    project = chain_project()
    project.dataset = DatasetSpec(source="text", path="corpus.txt", seq_len=32)
    panel.document.replace_project(project)
    assert panel.source_combo.currentData() == "text"
    assert panel.path_edit.text() == "corpus.txt"
    assert panel.seq_spin.value() == 32
