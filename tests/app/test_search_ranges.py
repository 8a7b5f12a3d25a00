"""Search ranges marked in the app: the hyperparameter panel and the inspector open the range
dialog, the document holds each range as one undo step, the canvas marks a ranged block, the
keys follow a renamed block and leave with a deleted one, and the file keeps them."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from app.widgets.search_range import SearchRangeDialog
from engine.project import load_project
from tests.app.conftest import chain_project


def hyperparams(ws):
    return ws.setup.hyperparams_panel


def open_range_dialog(marks, key) -> SearchRangeDialog:
    mark = marks.mark_for(key)
    assert mark is not None, f"{key} has no range mark"
    return marks.open_dialog(mark)


def inspect(ws, node_id):
    ws.view().graph_scene.select_nodes([node_id])
    assert ws.inspector.node_id == node_id
    return ws.inspector


def test_a_range_on_the_learning_rate_is_held_shown_and_undone(ws):
    panel, doc = hyperparams(ws), ws.document
    dialog = open_range_dialog(panel.range_marks, "training.lr")
    dialog.low.setText("1e-4")
    dialog.high.setText("0.1")
    dialog.log.setChecked(True)
    dialog.accept()
    assert not dialog.isVisible()
    assert doc.project.sweep.ranges == {"training.lr": "float:0.0001..0.1:log"}
    assert doc.undo_stack.count() == 1
    note = panel.range_marks.mark_for("training.lr").note
    assert not note.isHidden()
    assert note.label.text() == "sweep: 0.0001..0.1 log"
    doc.undo()
    assert doc.project.sweep.ranges == {}
    assert note.isHidden()
    assert doc.project.to_json() == doc.to_json() and '"sweep"' not in doc.to_json()


def test_a_bad_range_shows_the_sentence_and_sets_nothing(ws):
    panel, doc = hyperparams(ws), ws.document
    dialog = open_range_dialog(panel.range_marks, "training.lr")
    dialog.low.setText("0.5")
    dialog.high.setText("0.01")
    dialog.accept()
    assert dialog.isVisible()
    assert not dialog.error.isHidden()
    assert dialog.error.text() == "training.lr=float:0.5..0.01:log: LOW must be below HIGH"
    dialog.low.setText("abc")
    dialog.accept()
    assert "each end must be a number, not 'abc'" in dialog.error.text()
    # a range past the field's bounds: the engine's own sentence, naming the setting
    dialog.reject()
    dialog = open_range_dialog(ws.setup.dataset_panel.range_marks, "dataset.val_fraction")
    dialog.low.setText("0.1")
    dialog.high.setText("1.5")
    dialog.accept()
    assert "dataset.val_fraction" in dialog.error.text() and dialog.isVisible()
    dialog.reject()
    assert doc.project.sweep.ranges == {}
    assert doc.undo_stack.count() == 0


def test_a_block_field_range_marks_the_block_on_the_canvas(ws):
    doc = ws.document
    inspector = inspect(ws, "fc1")
    dialog = open_range_dialog(inspector.range_marks, "model/fc1.out_features")
    assert dialog.kind_combo.currentData() == "int"
    dialog.low.setText("16")
    dialog.high.setText("256")
    dialog.step.setText("16")
    dialog.accept()
    assert doc.project.sweep.ranges == {"model/fc1.out_features": "int:16..256:16"}
    note = inspector.range_marks.mark_for("model/fc1.out_features").note
    assert note.label.text() == "sweep: 16..256 step 16" and not note.isHidden()
    item = ws.view().graph_scene.nodes["fc1"]
    assert item.range_badge is not None and item.range_badge.isVisible()
    assert "out_features: 16..256 step 16" in item.range_badge.toolTip()
    assert ws.view().graph_scene.nodes["fc2"].range_badge is None
    # a choice list on an on/off field
    dialog = open_range_dialog(inspector.range_marks, "model/fc1.bias")
    assert dialog.kind_combo.currentData() == "choice"
    assert dialog.values.text() == "false, true"
    dialog.accept()
    assert doc.project.sweep.ranges["model/fc1.bias"] == "choice:false,true"
    assert item.range_badge.text == "sweep ×2"
    doc.undo()
    doc.undo()
    assert not item.range_badge.isVisible()


def test_renaming_moves_the_keys_and_deleting_drops_them_in_one_step(ws):
    doc = ws.document
    doc.set_search_range("training.lr", "float:1e-4..1e-1:log")
    doc.set_search_range("model/fc1.out_features", "int:16..256")
    doc.set_search_range("model/fc1.bias", "choice:true,false")
    saved = doc.to_json()
    inspector = inspect(ws, "fc1")
    inspector.id_edit.setText("hidden")
    inspector.id_edit.editingFinished.emit()
    assert list(doc.project.sweep.ranges) == [
        "training.lr", "model/hidden.out_features", "model/hidden.bias"]
    scene = ws.view().graph_scene
    assert scene.nodes["hidden"].range_badge.isVisible()
    assert inspector.range_marks.mark_for("model/hidden.out_features") is not None
    steps = doc.undo_stack.count()
    doc.remove("model", ["hidden"])
    assert doc.undo_stack.count() == steps + 1
    assert doc.project.sweep.ranges == {"training.lr": "float:0.0001..0.1:log"}
    doc.undo()  # the block and both its ranges come back
    assert doc.project.sweep.ranges["model/hidden.out_features"] == "int:16..256"
    assert scene.nodes["hidden"].range_badge.isVisible()
    doc.undo()  # the rename
    assert doc.to_json() == saved
    assert scene.nodes["fc1"].range_badge.text == "sweep ×2"


def test_the_ranges_are_saved_and_shown_again_on_reopen(ws, tmp_path):
    doc = ws.document
    doc.set_search_range("training.lr", "float:1e-4..1e-1:log")
    doc.set_search_range("model/fc2.out_features", "choice:3,6")
    path = tmp_path / "ranged.lforge"
    doc.save(path)
    assert load_project(path).sweep.ranges == doc.project.sweep.ranges
    doc.replace_project(chain_project())  # another project: no marks left
    assert hyperparams(ws).range_marks.mark_for("training.lr").note.isHidden()
    assert ws.files.open_path(str(path), confirm=False)
    QApplication.processEvents()
    doc = ws.document
    assert doc.project.sweep.ranges == {"training.lr": "float:0.0001..0.1:log",
                                        "model/fc2.out_features": "choice:3,6"}
    note = hyperparams(ws).range_marks.mark_for("training.lr").note
    assert not note.isHidden() and note.label.text() == "sweep: 0.0001..0.1 log"
    badge = ws.view().graph_scene.nodes["fc2"].range_badge
    assert badge is not None and badge.isVisible() and "out_features: 3, 6" in badge.toolTip()


def test_the_context_menu_offers_the_range_and_clearing_it(ws, qtbot):
    panel, doc = hyperparams(ws), ws.document
    mark = panel.range_marks.mark_for("training.batch_size")
    menu = panel.range_marks._context_menu(mark.widget.lineEdit(), mark)
    assert [a.text() for a in menu.actions()][-1] == "Search range…"
    doc.set_search_range("training.batch_size", "choice:32,64,128")
    assert mark.note.label.text() == "sweep: 32, 64, 128"
    menu = panel.range_marks._context_menu(mark.widget.lineEdit(), mark)
    texts = [a.text() for a in menu.actions()]
    assert texts[-2:] == ["Edit search range…", "Clear search range"]
    menu.actions()[-1].trigger()
    assert doc.project.sweep.ranges == {}
    assert panel.range_marks.mark_for("training.device") is None  # not a thing to sweep
