"""The inspector: editors generated from each block's params, all edits through the document."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.panels.param_editors import BoolEditor, ChoiceEditor, IntEditor, IntsEditor, SizeEditor


def inspect(ws, node_id):
    ws.view().graph_scene.select_nodes([node_id])
    assert ws.inspector.node_id == node_id
    return ws.inspector


def type_into(widget, text):
    widget.setFocus()
    widget.selectAll()
    QTest.keyClicks(widget, text)


def test_editors_follow_the_param_schema(ws):
    nid = ws.document.add_node("model", "Conv2d")
    editors = inspect(ws, nid).editors
    assert isinstance(editors["out_channels"], IntEditor)
    assert editors["out_channels"].box.maximum() == 1_000_000
    assert isinstance(editors["kernel_size"], SizeEditor) and len(editors["kernel_size"].boxes) == 2
    assert isinstance(editors["bias"], BoolEditor)
    nid = ws.document.add_node("model", "GELU")
    assert isinstance(inspect(ws, nid).editors["approximate"], ChoiceEditor)


def test_typing_a_number_edits_the_param_in_one_undo_step(ws):
    spin = inspect(ws, "fc1").editors["out_features"].box
    type_into(spin.lineEdit(), "256")
    node = ws.document.node("model", "fc1")
    assert node.params["out_features"] == 256
    assert ws.document.undo_stack.count() == 1
    ws.document.undo()
    assert ws.document.node("model", "fc1").params["out_features"] == 32
    assert spin.value() == 32


def test_a_checkbox_toggles_a_bool_param(ws):
    box = inspect(ws, "fc1").editors["bias"].box
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert ws.document.node("model", "fc1").params["bias"] is False


def test_a_size_field_stores_one_number_or_one_per_axis(ws):
    nid = ws.document.add_node("model", "Conv2d")
    boxes = inspect(ws, nid).editors["kernel_size"].boxes
    boxes[1].setValue(5)
    assert ws.document.node("model", nid).params["kernel_size"] == [3, 5]
    boxes[0].setValue(5)
    assert ws.document.node("model", nid).params["kernel_size"] == 5


def test_a_list_field_parses_numbers_and_flags_bad_text(ws):
    editor = inspect(ws, "x").editors["shape"]
    assert isinstance(editor, IntsEditor)
    type_into(editor.line, "1, 28, 28")
    assert ws.document.node("model", "x").params["shape"] == [1, 28, 28]
    type_into(editor.line, "one")
    assert ws.document.node("model", "x").params["shape"] == [1, 28, 28]
    assert "whole numbers" in ws.inspector.messages.text()


def test_the_id_field_renames_through_the_sanitizer(ws):
    ins = inspect(ws, "fc1")
    type_into(ins.id_edit, "Hidden Layer #1")
    QTest.keyClick(ins.id_edit, Qt.Key.Key_Return)
    assert ws.document.node("model", "hidden_layer_1") is not None
    assert ins.node_id == "hidden_layer_1"
    assert ins.id_edit.text() == "hidden_layer_1"
    assert [e.src for e in ws.document.graph("model").edges if e.dst == "act"] == ["hidden_layer_1"]


def test_the_label_field_merges_typing_into_one_step(ws):
    ins = inspect(ws, "fc1")
    type_into(ins.label_edit, "Encoder")
    assert ws.document.node("model", "fc1").label == "Encoder"
    assert ws.document.undo_stack.count() == 1


def test_inline_messages_show_the_blocks_analysis_error(ws):
    ws.document.set_param("model", "x", "shape", [1, 28, 28])
    ins = inspect(ws, "fc1")
    assert ins.messages.isVisible()
    assert "Flatten" in ins.messages.text()
    assert ins.messages.textFormat() == Qt.TextFormat.PlainText


def test_invalid_stored_values_are_reported(ws):
    ws.document.set_param("model", "fc1", "out_features", 0)
    assert "at least 1" in inspect(ws, "fc1").messages.text()


def test_the_inspector_follows_undo(ws):
    spin = inspect(ws, "fc1").editors["out_features"].box
    ws.document.set_param("model", "fc1", "out_features", 77)
    assert spin.value() == 77
    ws.document.undo()
    assert spin.value() == 32


def test_the_block_documentation_is_shown(ws):
    ins = inspect(ws, "fc1")
    assert "fully connected" in ins.doc.text()
    assert "Output [N, 32]" in ins.stats.text()


def test_several_selected_blocks_show_a_count(ws):
    ws.view().graph_scene.select_nodes(["fc1", "fc2"])
    assert ws.inspector.node_id is None
    assert "2 blocks selected" in ws.inspector.empty.text()
