"""The dataset panel's segmentation and detection sources: their rows write the project
through the document (undoably) and show only for those sources."""

from __future__ import annotations

import pytest

from tests.app.conftest import chain_project
from tests.app.setup.conftest import choose, type_path, wait_idle


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def _shown(panel, widget) -> bool:
    return panel.source_form.isRowVisible(widget)


@pytest.mark.parametrize("source", ["segmentation", "detection"])
def test_a_vision_source_asks_for_images_annotations_labels_and_bad_entries(panel, source):
    doc = panel.document
    rows = panel.source_box.vision
    assert not _shown(panel, rows.annotations)  # built-in: none of these
    count = doc.undo_stack.count()
    choose(panel.source_combo, source)
    assert doc.project.dataset.source == source
    assert all(_shown(panel, w) for w in (panel.path_field, rows.annotations, rows.labels,
                                          rows.bad))
    assert not _shown(panel, panel.target_combo) and not _shown(panel, panel.name_combo)
    assert panel.source_form.labelForField(panel.path_field).text() == "Images folder"
    assert rows.annotations.edit.placeholderText() == "detected"  # empty: found by layout
    assert panel.prep_form.isRowVisible(panel.image_size)
    type_path(panel.path_field, "/data/pets/images")
    type_path(rows.annotations, "/data/pets/instances.json")
    type_path(rows.labels, "/data/pets/classes.txt")
    choose(rows.bad, "skip")
    panel.image_size.setValue(96)
    d = doc.project.dataset
    assert (d.path, d.annotations, d.labels, d.bad_entries, d.image_size) == (
        "/data/pets/images", "/data/pets/instances.json", "/data/pets/classes.txt", "skip", 96)
    assert doc.undo_stack.count() == count + 6
    doc.undo()
    doc.undo()
    assert doc.project.dataset.bad_entries == "stop"
    assert rows.bad.currentData() == "stop"
    doc.undo()
    assert rows.labels.text() == "" and doc.project.dataset.labels == ""
    for _ in range(3):
        doc.undo()
    assert doc.project.dataset == chain_project().dataset
    assert not _shown(panel, rows.annotations)
    assert panel.source_form.labelForField(panel.path_field).text() == "Path"


def test_rotation_is_said_not_to_apply_to_boxes(panel):
    doc = panel.document
    note = panel.prep_box.rotate_note
    doc.set_field("dataset", "source", "segmentation")
    assert panel.prep_form.isRowVisible(panel.rotate)
    assert not panel.prep_form.isRowVisible(note)
    doc.set_field("dataset", "source", "detection")
    assert panel.prep_form.isRowVisible(note) and "never rotated" in note.text()
    doc.set_field("dataset", "source", "builtin")
    doc.set_field("dataset", "name", "shapes_det")
    assert panel.prep_form.isRowVisible(note)
    doc.set_field("dataset", "name", "shapes_seg")
    assert not panel.prep_form.isRowVisible(note)


def test_the_built_in_scene_sets_are_listed_and_generated(panel, qtbot):
    doc = panel.document
    panel.load_catalogue()
    wait_idle(qtbot, panel.catalog)
    names = [panel.name_combo.itemData(i) for i in range(panel.name_combo.count())]
    assert {"shapes_seg", "shapes_det"} <= set(names)
    choose(panel.name_combo, "shapes_det")
    assert doc.project.dataset.name == "shapes_det"
    assert "box" in panel.description.text()
    assert _shown(panel, panel.samples_spin)  # generated: its size can be set
    assert panel.prep_form.isRowVisible(panel.image_size)
    panel.samples_spin.setValue(300)
    assert doc.project.dataset.samples == 300


def test_an_images_folder_is_asked_for_before_loading(panel, qtbot):
    doc = panel.document
    doc.set_field("dataset", "source", "detection")
    panel.refresh_preview()
    assert panel.error.isVisibleTo(panel)
    assert panel.error.text() == "Choose the images folder."
    assert not panel.loader.busy
