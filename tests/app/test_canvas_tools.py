"""Canvas tools: a gesture driven press to release on the real view, and Esc abandoning it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsPathItem

from tests.app.helpers import LEFT, _mouse, drag


def edge_keys(ws):
    return [(e.src, e.src_port, e.dst, e.dst_port) for e in ws.document.graph("model").edges]


def temporary_wires(scene):
    """Path items that are not document edges: the wire a connect drag draws."""
    return [i for i in scene.items() if type(i) is QGraphicsPathItem]


def focused_view(ws, qtbot):
    view = ws.view()
    ws.window.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    return view


def press(view, scene_pos):
    _mouse(view.viewport(), QEvent.Type.MouseButtonPress, QPointF(view.mapFromScene(scene_pos)),
           LEFT, LEFT)


def move(view, scene_pos):
    _mouse(view.viewport(), QEvent.Type.MouseMove, QPointF(view.mapFromScene(scene_pos)),
           Qt.MouseButton.NoButton, LEFT)


def release(view, scene_pos):
    _mouse(view.viewport(), QEvent.Type.MouseButtonRelease,
           QPointF(view.mapFromScene(scene_pos)), LEFT, Qt.MouseButton.NoButton)


def test_esc_cancels_a_wire_drag_in_progress(ws, qtbot):
    ws.document.remove("model", edges=[("fc1", "out", "act", "in")])
    view = focused_view(ws, qtbot)
    scene = view.graph_scene
    start = scene.nodes["fc1"].output.scenePos()
    target = scene.nodes["act"].inputs["in"].scenePos()
    count, before = ws.document.undo_stack.count(), ws.document.to_json()
    press(view, start)
    move(view, (start + target) / 2)
    move(view, target)
    assert len(temporary_wires(scene)) == 1  # the drag is under way
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert temporary_wires(scene) == []
    assert scene.tool is None
    # Letting go over the input afterwards must not finish the abandoned wire.
    move(view, target)
    release(view, target)
    assert ("fc1", "out", "act", "in") not in edge_keys(ws)
    assert temporary_wires(scene) == []
    assert ws.document.undo_stack.count() == count
    assert ws.document.to_json() == before


def test_a_wire_can_be_drawn_again_after_an_esc(ws, qtbot):
    ws.document.remove("model", edges=[("fc1", "out", "act", "in")])
    view = focused_view(ws, qtbot)
    scene = view.graph_scene
    start = scene.nodes["fc1"].output.scenePos()
    target = scene.nodes["act"].inputs["in"].scenePos()
    press(view, start)
    move(view, target)
    QTest.keyClick(view, Qt.Key.Key_Escape)
    release(view, target)
    press(view, start)
    move(view, target)
    release(view, target)
    assert ("fc1", "out", "act", "in") in edge_keys(ws)
    assert temporary_wires(scene) == []


def test_esc_with_no_gesture_changes_nothing(ws, qtbot):
    view = focused_view(ws, qtbot)
    view.graph_scene.select_nodes(["act"])
    before = ws.document.to_json()
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert ws.document.to_json() == before
    assert ws.document.undo_stack.count() == 0


def test_a_middle_button_drag_pans_without_an_undo_step(ws, qtbot):
    view = focused_view(ws, qtbot)
    before = view.visible_centre()
    start = QPointF(view.viewport().rect().center())
    drag(view.viewport(), start, start + QPointF(-120, 0), button=Qt.MouseButton.MiddleButton)
    assert view.visible_centre().x() - before.x() > 100 / view.zoom()
    assert ws.document.undo_stack.count() == 0


def test_esc_during_a_pan_puts_the_view_back(ws, qtbot):
    view = focused_view(ws, qtbot)
    before = view.visible_centre()
    middle = Qt.MouseButton.MiddleButton
    start = QPointF(view.viewport().rect().center())
    _mouse(view.viewport(), QEvent.Type.MouseButtonPress, start, middle, middle)
    for dx in (-40, -80, -120):
        _mouse(view.viewport(), QEvent.Type.MouseMove, start + QPointF(dx, 30),
               Qt.MouseButton.NoButton, middle)
    assert view.visible_centre() != before
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert view.visible_centre() == before
    # The rest of the abandoned drag moves nothing.
    _mouse(view.viewport(), QEvent.Type.MouseMove, start + QPointF(-200, 0),
           Qt.MouseButton.NoButton, middle)
    _mouse(view.viewport(), QEvent.Type.MouseButtonRelease, start + QPointF(-200, 0), middle,
           Qt.MouseButton.NoButton)
    assert view.visible_centre() == before
