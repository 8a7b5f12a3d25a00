"""Blocks and wires follow the graph's flow; wires never run under a block; Auto layout is
one undo step that may turn the graph top to bottom; a template opens fitted whole."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from engine.layout.geometry import polyline_hits_rect
from engine.templates import load_template
from tests.app.helpers import scene_drag


def deep_chain(ws, blocks: int = 6) -> None:
    """Make the chain deeper (Input, Linear, ReLU x blocks, Linear, Output), all at one spot."""
    d = ws.document
    d.remove("model", edges=[("act", "out", "fc2", "in")])
    last = "act"
    for i in range(blocks):
        nid = d.add_node("model", "ReLU", (0.0, 0.0), node_id=f"r{i}")
        d.connect("model", last, nid, "in")
        last = nid
    d.connect("model", last, "fc2", "in")


def test_ports_sit_on_the_top_and_bottom_edges_when_the_graph_flows_down(ws):
    project = load_template("lenet5")
    assert project.graphs["model"].flow == "down"
    ws.document.replace_project(project)
    item = ws.view().graph_scene.nodes["conv1"]
    top_left = item.scenePos()
    assert item.inputs["in"].scenePos().y() == top_left.y()
    assert item.output.scenePos().y() == top_left.y() + item.block_rect().bottom \
        - item.block_rect().top
    assert item.inputs["in"].scenePos().x() == item.output.scenePos().x()


def test_auto_layout_turns_a_deep_chain_top_to_bottom_in_one_undo_step(ws):
    deep_chain(ws)
    d, scene = ws.document, ws.view().graph_scene
    before = d.to_json()
    steps = d.undo_stack.count()
    ws.auto_layout()
    assert d.graph("model").flow == "down" and scene.flow == "down"
    assert d.undo_stack.count() == steps + 1
    assert d.undo_stack.undoText() == "Auto layout"
    fc1 = scene.nodes["fc1"]
    assert fc1.inputs["in"].scenePos().y() == fc1.scenePos().y()  # inputs on top now
    d.undo_stack.undo()
    assert d.to_json() == before
    assert scene.flow == "right"
    assert fc1.inputs["in"].scenePos().x() == fc1.scenePos().x()  # back on the left edge


def test_a_wire_goes_around_a_block_the_document_puts_in_its_way(ws):
    scene = ws.view().graph_scene
    ws.document.move_nodes("model", {"fc1": (660.0, 0.0), "fc2": (880.0, 160.0)})
    wire = scene.edges[("x", "out", "fc1", "in")][0]  # x (0) to fc1 (660), past act (440)
    assert wire.bends > 0
    assert not polyline_hits_rect(wire.route, scene.nodes["act"].block_rect())


def test_a_dragged_block_never_lies_on_a_wire(ws):
    view, scene = ws.view(), ws.view().graph_scene
    ws.document.move_nodes("model", {"fc1": (660.0, 0.0), "act": (440.0, 200.0),
                                     "fc2": (880.0, 200.0), "y": (1100.0, 200.0)})
    wire = scene.edges[("x", "out", "fc1", "in")][0]
    assert wire.bends == 0  # a straight run from x to fc1 while act is out of the way
    act = scene.nodes["act"]
    grip = act.scenePos() + QPointF(60, 10)  # the header
    scene_drag(view, grip, grip + QPointF(0, -200))  # act back onto the wire
    assert act.scenePos().y() == 0.0
    assert wire.bends > 0
    assert not polyline_hits_rect(wire.route, act.block_rect())


def test_a_template_opens_fitted_whole_in_the_view(ws, qtbot):
    assert ws.files.new_from_template("resnetmini")
    view = ws.view()
    qtbot.waitUntil(lambda: view.zoom() != 1.0 or not view._fit_pending)
    qtbot.waitUntil(lambda: view.mapToScene(view.viewport().rect()).boundingRect()
                    .contains(view.blocks_rect()))
    assert view.zoom() >= 0.35  # the blocks' text is still drawn
