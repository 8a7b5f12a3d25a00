"""Dropping a wire on an input that already has one replaces that wire, in one undo step."""

from __future__ import annotations

import pytest

from app.document import EditError, GraphDocument
from tests.app.conftest import chain_project
from tests.app.helpers import scene_drag


def edges(doc: GraphDocument) -> list[tuple[str, str, str]]:
    return [(e.src, e.dst, e.dst_port) for e in doc.graph("model").edges]


def wires_into(doc: GraphDocument, dst: str, port: str = "in") -> list[str]:
    return [e.src for e in doc.graph("model").edges if e.dst == dst and e.dst_port == port]


@pytest.fixture
def doc(qapp):
    return GraphDocument(chain_project())


def test_replacing_a_wire_is_one_undo_step_that_restores_the_old_wire(doc):
    before, count = doc.to_json(), doc.undo_stack.count()
    replaced = doc.connect("model", "x", "fc2", "in", replace=True)
    assert replaced == "act"
    assert wires_into(doc, "fc2") == ["x"]
    assert doc.undo_stack.count() == count + 1
    doc.undo()
    assert doc.to_json() == before
    doc.undo_stack.redo()
    assert wires_into(doc, "fc2") == ["x"]


def test_an_input_never_holds_two_wires_while_one_is_replaced(doc):
    seen: list[int] = []

    def count(_graph: str, _key: object) -> None:
        seen.append(len(wires_into(doc, "fc2")))

    doc.edge_added.connect(count)
    doc.edge_removed.connect(count)
    doc.connect("model", "x", "fc2", "in", replace=True)
    doc.undo()
    assert seen and max(seen) == 1


def test_without_replace_a_connected_input_is_still_refused(doc):
    before = doc.to_json()
    with pytest.raises(EditError, match="already connected to act"):
        doc.connect("model", "x", "fc2", "in")
    assert doc.to_json() == before


def test_a_replacement_that_would_make_a_cycle_is_refused(doc):
    before = doc.to_json()
    with pytest.raises(EditError, match="cycle"):
        doc.connect("model", "fc2", "fc1", "in", replace=True)
    assert doc.to_json() == before


def test_dropping_a_wire_on_a_connected_input_replaces_its_wire(ws):
    scene = ws.view().graph_scene
    count = ws.document.undo_stack.count()
    scene_drag(ws.view(), scene.nodes["x"].output.scenePos(),
               scene.nodes["fc2"].inputs["in"].scenePos())
    assert wires_into(ws.document, "fc2") == ["x"]
    assert ("act", "fc2", "in") not in edges(ws.document)
    assert ws.document.undo_stack.count() == count + 1
    assert "instead of act" in ws.window.statusBar().currentMessage()
    ws.document.undo()
    assert wires_into(ws.document, "fc2") == ["act"]
