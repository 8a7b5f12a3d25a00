"""The canvas, driven by synthetic mouse, drop, wheel and key events on the real view."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from tests.app.helpers import drop, scene_drag, wheel


def edge_keys(ws):
    return [(e.src, e.src_port, e.dst, e.dst_port) for e in ws.document.graph("model").edges]


def test_dropping_a_palette_block_adds_it_where_dropped(ws):
    view = ws.view()
    item = ws.palette.item_for("Conv2d")
    mime = ws.palette.tree.mimeData([item])
    target = view.viewport().rect().center()
    entered, dropped = drop(view.viewport(), mime, target)
    assert entered and dropped
    node = ws.document.graph("model").nodes[-1]
    assert node.type == "Conv2d"
    centre = view.mapToScene(target)
    assert abs(node.position[0] + 80 - centre.x()) <= 20
    assert view.graph_scene.selected_node_ids() == [node.id]


def test_enter_in_the_palette_search_adds_the_first_match(ws, qtbot):
    QTest.keyClicks(ws.palette.search, "conv2")
    assert ws.palette.visible_types()[0] == "Conv2d"
    QTest.keyClick(ws.palette.search, Qt.Key.Key_Return)
    assert ws.document.graph("model").nodes[-1].type == "Conv2d"


def test_dragging_from_an_output_port_to_an_input_port_connects(ws):
    ws.document.remove("model", edges=[("fc1", "out", "act", "in")])
    scene = ws.view().graph_scene
    scene_drag(ws.view(), scene.nodes["fc1"].output.scenePos(),
               scene.nodes["act"].inputs["in"].scenePos())
    assert ("fc1", "out", "act", "in") in edge_keys(ws)
    assert len(scene.edges[("fc1", "out", "act", "in")]) == 1


def test_a_wire_can_also_be_drawn_from_the_input_end(ws):
    ws.document.remove("model", edges=[("fc1", "out", "act", "in")])
    scene = ws.view().graph_scene
    scene_drag(ws.view(), scene.nodes["act"].inputs["in"].scenePos(),
               scene.nodes["fc1"].output.scenePos())
    assert ("fc1", "out", "act", "in") in edge_keys(ws)


def test_a_connection_making_a_cycle_is_refused_with_the_reason(ws):
    ws.document.remove("model", edges=[("x", "out", "fc1", "in")])
    before = ws.document.to_json()
    scene = ws.view().graph_scene
    scene_drag(ws.view(), scene.nodes["fc2"].output.scenePos(),
               scene.nodes["fc1"].inputs["in"].scenePos())
    assert ws.document.to_json() == before
    assert "cycle" in ws.window.statusBar().currentMessage()


def test_a_wire_dropped_again_on_its_own_input_changes_nothing(ws):
    before = ws.document.to_json()
    scene = ws.view().graph_scene
    scene_drag(ws.view(), scene.nodes["act"].output.scenePos(),
               scene.nodes["fc2"].inputs["in"].scenePos())
    assert ws.document.to_json() == before
    assert "already connected to act" in ws.window.statusBar().currentMessage()


def test_dragging_selected_blocks_moves_them_in_one_undo_step(ws):
    scene = ws.view().graph_scene
    scene.select_nodes(["fc1", "act"])
    start = scene.nodes["fc1"].scenePos() + QPointF(60, 10)
    count = ws.document.undo_stack.count()
    scene_drag(ws.view(), start, start + QPointF(100, 60))
    assert ws.document.undo_stack.count() == count + 1
    assert ws.document.node("model", "fc1").position == (320.0, 60.0)  # snapped to the grid
    assert ws.document.node("model", "act").position == (540.0, 60.0)
    ws.document.undo()
    assert scene.nodes["act"].pos() == QPointF(440, 0)


def test_rubber_band_selects_the_blocks_it_touches(ws):
    view = ws.view()
    view.resetTransform()
    view.centerOn(400, 30)
    scene = view.graph_scene
    scene_drag(view, QPointF(200, -100), QPointF(470, 100))
    assert sorted(scene.selected_node_ids()) == ["act", "fc1"]


def test_delete_key_removes_the_selection_with_its_wires(ws, qtbot):
    view = ws.view()
    view.graph_scene.select_nodes(["act"])
    ws.window.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert ws.document.node("model", "act") is None
    assert "act" not in view.graph_scene.nodes
    assert len(view.graph_scene.edges) == 2


def test_wheel_zooms_around_the_cursor(ws):
    view = ws.view()
    cursor = QPointF(300, 200)
    under = view.mapToScene(cursor.toPoint())
    zoom = view.zoom()
    wheel(view.viewport(), cursor, 240)
    assert view.zoom() > zoom * 1.3
    after = view.mapToScene(cursor.toPoint())
    assert abs(after.x() - under.x()) < 3 / view.zoom() and abs(after.y() - under.y()) < 3 / view.zoom()


def test_space_drag_pans_without_moving_blocks(ws, qtbot):
    view = ws.view()
    view.setFocus()
    before = view.visible_centre()
    QTest.keyPress(view, Qt.Key.Key_Space)
    start = view.mapFromScene(ws.view().graph_scene.nodes["fc1"].scenePos() + QPointF(50, 30))
    from tests.app.helpers import drag
    drag(view.viewport(), QPointF(start), QPointF(start) + QPointF(-120, 0))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.visible_centre().x() - before.x() > 100 / view.zoom()
    assert ws.document.undo_stack.count() == 0


def test_fit_shows_every_block(ws):
    view = ws.view()
    view.zoom_by(4)
    view.centerOn(5000, 5000)
    view.fit_all()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.graph_scene.nodes.values():
        assert visible.contains(item.sceneBoundingRect())


def test_edges_show_shapes_and_blocks_show_params_after_an_edit(ws):
    scene = ws.view().graph_scene
    ws.document.set_param("model", "fc1", "out_features", 10)
    assert scene.nodes["fc1"].view.shape == "[N, 10]"
    assert scene.nodes["fc1"].view.params == "50"
    assert scene.edges[("fc1", "out", "act", "in")][0].label == "10"


def test_an_invalid_block_gets_a_badge_with_the_message(ws):
    scene = ws.view().graph_scene
    ws.document.set_param("model", "x", "shape", [1, 28, 28])
    item = scene.nodes["fc1"]
    assert item.badge.isVisible()
    assert "Flatten" in item.badge.toolTip()
    assert not scene.nodes["fc2"].badge.isVisible()  # downstream blocks wait, they are not wrong
    assert any("Flatten" in row[2] for row in ws.problems.rows())


def test_user_labels_are_shown_as_plain_text(ws):
    ws.document.set_label("model", "fc1", "<b>bold?</b>")
    item = ws.view().graph_scene.nodes["fc1"]
    assert item.view.title == "<b>bold?</b>"
    assert "&lt;b&gt;" in item.toolTip()


def test_the_f_key_fits_the_graph_to_the_view(ws, qtbot):
    view = ws.view()
    view.zoom_by(4)
    view.centerOn(5000, 5000)
    ws.window.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    QTest.keyClick(view, Qt.Key.Key_F)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(i.sceneBoundingRect()) for i in view.graph_scene.nodes.values())


def test_a_merge_block_gets_one_port_per_input_on_the_canvas(ws):
    nid = ws.document.add_node("model", "Concat", params={"inputs": 3})
    item = ws.view().graph_scene.nodes[nid]
    assert list(item.inputs) == ["in0", "in1", "in2"]
    ws.document.set_param("model", nid, "inputs", 2)
    assert list(item.inputs) == ["in0", "in1"]


def test_double_clicking_a_palette_block_adds_it(ws):
    tree = ws.palette.tree
    item = ws.palette.item_for("LSTM")
    tree.scrollToItem(item)
    centre = tree.visualItemRect(item).center()
    # A real double-click is a click followed by a double-click event.
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert ws.document.graph("model").nodes[-1].type == "LSTM"


def test_a_selected_wire_is_deleted_alone(ws):
    scene = ws.view().graph_scene
    scene.clearSelection()
    scene.edges[("act", "out", "fc2", "in")][0].setSelected(True)
    ws.delete_selection()
    assert ("act", "out", "fc2", "in") not in edge_keys(ws)
    assert len(ws.document.graph("model").nodes) == 5
