"""Composite blocks in the editor (decision 0001): group, ungroup, reuse, open, drop, cut.

Every edit is one undo step whose undo gives back the project JSON byte for byte, and the
analysis (shapes, parameters, problems) goes through the composite."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtTest import QTest

from app.canvas.tabs import COMPOSITE_MARK
from app.canvas.view import MIME_COMPOSITE, MIME_PRETRAINED
from app.document import GraphDocument
from app.document.errors import GroupError
from engine.compile import compile_graph
from engine.errors import UserError
from engine.project import Edge, Graph, Node, Project, parse_project
from engine.shapes import analyze_project, project_problems
from tests.app.conftest import chain_project
from tests.app.helpers import drop


def residual_project() -> Project:
    """x[4] -> fc1(8) -> act -> fc2(8) -> add.in0, act -> add.in1, add -> y."""
    nodes = [
        Node(id="x", type="Input", params={"shape": [4], "dtype": "float", "vocab": 0}),
        Node(id="fc1", type="Linear", params={"out_features": 8, "bias": True},
             position=(220.0, 0.0)),
        Node(id="act", type="ReLU", position=(440.0, 0.0)),
        Node(id="fc2", type="Linear", params={"out_features": 8, "bias": True},
             position=(660.0, 0.0)),
        Node(id="add", type="Add", position=(880.0, 40.0)),
        Node(id="y", type="Output", position=(1100.0, 40.0)),
    ]
    edges = [Edge(src="x", dst="fc1"), Edge(src="fc1", dst="act"), Edge(src="act", dst="fc2"),
             Edge(src="fc2", dst="add", dst_port="in0"),
             Edge(src="act", dst="add", dst_port="in1"), Edge(src="add", dst="y")]
    return Project(name="res", graphs={"model": Graph(nodes=nodes, edges=edges)})


def keys(doc: GraphDocument, graph: str = "model") -> set[tuple[str, str, str, str]]:
    return {(e.src, e.src_port, e.dst, e.dst_port) for e in doc.graph(graph).edges}


def same_analysis(doc: GraphDocument) -> None:
    """The document's live analysis equals a fresh analysis of its saved JSON."""
    fresh = analyze_project(parse_project(doc.to_json()))
    for name, a in fresh.items():
        live = doc.analysis(name)
        assert {k: (str(i.out), i.params) for k, i in live.nodes.items()} == \
            {k: (str(i.out), i.params) for k, i in a.nodes.items()}, name
        assert [str(p) for p in live.problems] == [str(p) for p in a.problems], name


# -- document ---------------------------------------------------------------------------
def test_group_is_one_undo_step_and_undo_redo_give_back_the_json(qapp):
    doc = GraphDocument(chain_project())
    before = doc.to_json()
    params = doc.analysis("model").total_params
    count = doc.undo_stack.count()
    name, gid = doc.group("model", ["fc1", "act"], "Hidden Block")
    assert (name, gid) == ("hidden_block", "hidden_block")
    assert doc.undo_stack.count() == count + 1
    after = doc.to_json()
    # the selection became one Group node where its first block was, wired in their place
    node = doc.node("model", gid)
    assert node.type == "Group" and node.params == {"graph": name}
    assert node.position == (220.0, 0.0)
    assert [n.id for n in doc.graph("model").nodes] == ["x", gid, "fc2", "y"]
    assert keys(doc) == {("x", "out", gid, "x"), (gid, "out", "fc2", "in"),
                         ("fc2", "out", "y", "in")}
    # the composite: an Input with the shape that fed the selection, the blocks (positions
    # kept), and an Output fed by the selection's last block
    inner = doc.graph(name)
    assert [(n.id, n.type) for n in inner.nodes] == [("x", "Input"), ("fc1", "Linear"),
                                                     ("act", "ReLU"), ("out", "Output")]
    assert inner.node("x").params["shape"] == [4]
    assert inner.node("fc1").position == (220.0, 0.0)
    # the analysis goes through the composite: same shapes and parameter count
    a = doc.analysis("model")
    assert a.total_params == params and str(a.nodes[gid].out) == "[N, 32]"
    assert a.nodes[gid].params == 4 * 32 + 32
    assert doc.analysis(name).ok and not project_problems(doc.project, None)
    same_analysis(doc)
    doc.undo()
    assert doc.to_json() == before
    doc.redo()
    assert doc.to_json() == after
    same_analysis(doc)
    # and the project compiles with the composite as a submodule
    gm = compile_graph(doc.graph("model"), "model", library=doc.project.graphs)
    assert f"self.{gid}(x)" in gm.code


def test_one_outside_source_feeding_two_inside_ports_is_one_input(qapp):
    doc = GraphDocument(residual_project())
    name, gid = doc.group("model", ["fc2", "add"], "tail")
    inner = doc.graph(name)
    assert [n.id for n in inner.nodes if n.type == "Input"] == ["x"]
    assert {(e.src, e.dst, e.dst_port) for e in inner.edges} >= {("x", "fc2", "in"),
                                                                  ("x", "add", "in1")}
    assert doc.input_ports("model", gid) == ("x",)
    assert keys(doc) >= {("act", "out", gid, "x"), (gid, "out", "y", "in")}
    assert doc.analysis("model").ok
    same_analysis(doc)


def test_several_outside_sources_become_named_ports(qapp):
    doc = GraphDocument(residual_project())
    doc.remove("model", edges=[("act", "out", "add", "in1")])
    doc.connect("model", "fc1", "add", "in1")
    name, gid = doc.group("model", ["fc2", "add"], "merge")
    assert doc.input_ports("model", gid) == ("act", "fc1")
    assert keys(doc) >= {("act", "out", gid, "act"), ("fc1", "out", gid, "fc1")}
    assert doc.analysis("model").ok
    item_ports = tuple(doc.analysis("model").structure.ports[gid])
    assert item_ports == ("act", "fc1")


def test_group_refuses_two_outgoing_sources_with_a_sentence(qapp):
    doc = GraphDocument(residual_project())
    before = doc.to_json()
    with pytest.raises(GroupError, match=r"from fc2 and act: a composite block has one output"):
        doc.group("model", ["fc1", "act", "fc2"])
    assert doc.group_problem("model", ["fc1", "act", "fc2"]).startswith("The selection feeds")
    with pytest.raises(GroupError, match="x is an Input block"):
        doc.group("model", ["x", "fc1"])
    with pytest.raises(GroupError, match="Select the blocks"):
        doc.group("model", [])
    assert doc.to_json() == before and doc.undo_stack.count() == 0


def test_ungroup_restores_the_blocks_and_wires_and_drops_the_unused_graph(qapp):
    doc = GraphDocument(residual_project())
    original = doc.to_json()
    name, gid = doc.group("model", ["fc1", "act"], "block")
    grouped = doc.to_json()
    ids = doc.ungroup("model", gid)
    assert sorted(ids) == ["act", "fc1"]
    assert name not in doc.project.graphs
    assert keys(doc) == keys(GraphDocument(parse_project(original)))
    assert {n.id: n.position for n in doc.graph("model").nodes} == \
        {n.id: n.position for n in parse_project(original).graphs["model"].nodes}
    same_analysis(doc)
    doc.undo()
    assert doc.to_json() == grouped
    doc.undo()
    assert doc.to_json() == original


def test_two_uses_of_one_definition_share_it_and_ungroup_keeps_it_while_used(qapp):
    doc = GraphDocument(chain_project())
    name, first = doc.group("model", ["act"], "act_block")
    second = doc.add_group_node("model", name, (440.0, 200.0))
    assert doc.composite_uses(name) == [("model", first), ("model", second)]
    doc.remove("model", edges=[("fc2", "out", "y", "in")])
    doc.connect("model", "fc2", second, "x")
    doc.connect("model", second, "y")
    a = doc.analysis("model")
    assert a.ok and str(a.nodes[second].out) == "[N, 3]"
    # editing the definition re-analyses every graph that uses it
    doc.add_node(name, "Dropout", (600.0, 100.0))
    inner = [n.id for n in doc.graph(name).nodes]
    doc.remove(name, edges=[("act", "out", "out", "in")])
    doc.connect(name, "act", inner[-1])
    doc.connect(name, inner[-1], "out")
    same_analysis(doc)
    before = doc.to_json()
    doc.ungroup("model", first)
    assert name in doc.project.graphs  # the other use still needs it
    doc.ungroup("model", second)
    assert name not in doc.project.graphs
    doc.undo()
    doc.undo()
    assert doc.to_json() == before
    with pytest.raises(GroupError, match="cannot contain itself"):
        doc.add_group_node(name, name)
    with pytest.raises(GroupError, match="cannot contain itself"):
        doc.add_group_node(name, "model")


def test_renaming_a_composite_graph_renames_its_uses_and_removing_it_is_refused(qapp):
    doc = GraphDocument(chain_project())
    name, gid = doc.group("model", ["fc1", "act"], "block")
    before = doc.to_json()
    assert doc.rename_graph(name, "Encoder") == "encoder"
    assert doc.node("model", gid).params["graph"] == "encoder"
    assert doc.analysis("model").ok
    doc.undo()
    assert doc.to_json() == before
    with pytest.raises(GroupError.__mro__[1], match="composite block block in model"):
        doc.remove_graph(name)


def test_insert_composite_adds_graph_node_and_dataset_fields_in_one_step(qapp):
    doc = GraphDocument(chain_project())
    before = doc.to_json()
    backbone = GraphDocument(chain_project()).graph("model").model_copy(deep=True)
    name, nid = doc.insert_composite("model", "ResNet 18", backbone, (100.0, 300.0),
                                     dataset={"mean": [0.5], "std": [0.25]})
    assert (name, nid) == ("resnet_18", "resnet_18")
    assert doc.undo_stack.count() == 1
    assert doc.node("model", nid).position == (100.0, 300.0)
    assert doc.project.dataset.mean == [0.5] and doc.project.dataset.std == [0.25]
    assert doc.input_ports("model", nid) == ("x",)
    doc.undo()
    assert doc.to_json() == before
    with pytest.raises(GroupError, match="no field 'colour'"):
        doc.insert_composite("model", "b", backbone, dataset={"colour": 1})
    assert doc.to_json() == before


def test_cut_at_replaces_everything_after_the_block_with_the_output(qapp):
    doc = GraphDocument(chain_project())
    before = doc.to_json()
    gone = doc.cut_at("model", "act")
    assert sorted(gone) == ["fc2"]
    assert [n.id for n in doc.graph("model").nodes] == ["x", "fc1", "act", "y"]
    assert keys(doc) == {("x", "out", "fc1", "in"), ("fc1", "out", "act", "in"),
                         ("act", "out", "y", "in")}
    assert str(doc.analysis("model").output_specs()[0]) == "[N, 32]"
    doc.undo()
    assert doc.to_json() == before
    with pytest.raises(GroupError, match="y has no output"):
        doc.cut_at("model", "y")
    # a composite is cut like any block: the backbone stays, the head goes
    name, gid = doc.group("model", ["fc1", "act"], "backbone")
    doc.cut_at("model", gid)
    assert [n.id for n in doc.graph("model").nodes] == ["x", gid, "y"]


# -- canvas ----------------------------------------------------------------------------
def test_a_group_node_looks_like_a_composite_and_double_click_opens_its_tab(ws):
    name, gid = ws.document.group("model", ["fc1", "act"], "block")
    tabs = ws.tabs
    item = ws.view().graph_scene.nodes[gid]
    assert item.view.composite and item.view.type_name == name
    assert item.view.params == "160" and item.view.shape == "[N, 32]"
    assert tuple(item.inputs) == ("x",)
    # composite tabs come after the top-level graphs, marked
    assert tabs.tab_order() == ["model", name]
    assert tabs.tabText(1) == name + COMPOSITE_MARK and tabs.tabText(0) == "model"
    view = ws.view()
    centre = view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert tabs.current_graph() == name
    assert set(tabs.current_scene().nodes) == {"x", "fc1", "act", "out"}
    ws.document.undo()
    assert name not in tabs.views and tabs.count() == 1


def test_group_action_asks_a_name_and_refusals_go_to_the_status_bar(ws, monkeypatch):
    from app.window import actions

    scene = ws.view().graph_scene
    scene.select_nodes(["fc1", "act"])
    assert ws.actions.group.isEnabled() and not ws.actions.ungroup.isEnabled()
    monkeypatch.setattr(actions, "ask_group_name", lambda _w: "enc")
    ws.actions.group.trigger()
    assert scene.selected_node_ids() == ["enc"]
    assert ws.actions.ungroup.isEnabled() and ws.actions.open_composite.isEnabled()
    ws.actions.open_composite.trigger()
    assert ws.tabs.current_graph() == "enc"
    ws.tabs.show_graph("model")
    ws.view().graph_scene.select_nodes(["enc"])
    ws.actions.ungroup.trigger()
    assert "enc" not in ws.document.project.graphs
    assert sorted(ws.view().graph_scene.selected_node_ids()) == ["act", "fc1"]
    ws.view().graph_scene.select_nodes(["x", "fc1"])
    ws.actions.group.trigger()
    assert "x is an Input block" in ws.window.statusBar().currentMessage()
    menu = ws.view().context_menu(QPointF(5, 5))
    assert ws.actions.group in menu.actions() and ws.actions.freeze in menu.actions()
    menu.deleteLater()


def test_cut_here_action_cuts_after_the_one_selected_block(ws):
    ws.view().graph_scene.select_nodes(["fc1"])
    assert ws.actions.cut_here.isEnabled()
    ws.actions.cut_here.trigger()
    assert [n.id for n in ws.document.graph("model").nodes] == ["x", "fc1", "y"]
    ws.view().graph_scene.select_nodes(["y"])
    assert not ws.actions.cut_here.isEnabled()


def _mime(fmt: str, text: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(fmt, text.encode())
    return mime


def test_dropping_a_composite_adds_a_use_and_a_pretrained_key_is_announced(ws, qtbot):
    name, _gid = ws.document.group("model", ["act"], "act_block")
    view = ws.view()
    target = view.viewport().rect().center()
    entered, dropped = drop(view.viewport(), _mime(MIME_COMPOSITE, name), target)
    assert entered and dropped
    node = ws.document.graph("model").nodes[-1]
    assert node.type == "Group" and node.params == {"graph": name}
    assert view.graph_scene.selected_node_ids() == [node.id]
    heard = []
    ws.tabs.pretrained_dropped.connect(lambda *a: heard.append(a))

    def offline(*_args, **_kwargs):
        raise UserError("no network in this test")

    ws.pretrained.fetch = offline  # the window's own download, declined when it fails
    ws.pretrained.ask_add_anyway = lambda *_args: False
    entered, dropped = drop(view.viewport(), _mime(MIME_PRETRAINED, "resnet18"), target)
    assert entered and dropped
    qtbot.waitUntil(lambda: not ws.pretrained.busy)
    (key, graph, x, y), = heard
    centre = view.mapToScene(target)
    assert (key, graph) == ("resnet18", "model") and (x, y) == (centre.x(), centre.y())
    # the window fetches the entry, then places it where it was dropped (one undo step)
    backbone = chain_project().graphs["model"]
    count = ws.document.undo_stack.count()
    gname, nid = ws.tabs.place_composite(graph, "ResNet-18", backbone, x, y,
                                         dataset={"mean": [0.5], "std": [0.5]})
    assert (gname, nid) == ("resnet_18", "resnet_18")
    assert ws.document.undo_stack.count() == count + 1
    assert view.graph_scene.selected_node_ids() == [nid]
    assert ws.document.node("model", nid).position == view.block_origin(centre)
    assert ws.tabs.tab_order()[-1] == "resnet_18"
    # a graph that would contain itself is refused with the reason
    count = ws.document.undo_stack.count()
    entered, dropped = drop(view.viewport(), _mime(MIME_COMPOSITE, "model"), target)
    assert not dropped and ws.document.undo_stack.count() == count
    assert "cannot contain itself" in ws.window.statusBar().currentMessage()


def test_cut_inside_a_backbone_then_fit_model_to_data_gives_a_working_head(ws, qtbot):
    """Cut Here inside the template's ResNet-18 leaves the head an image: the problem is
    shown once, with the fix, and Fit model to data adds a pool (one undo step)."""
    from engine.templates import load_template
    from tests.app.setup.test_data_fit_gui import wait_idle

    doc, panel = ws.document, ws.setup.dataset_panel
    doc.replace_project(load_template("transfer"))
    doc.cut_at("resnet18", "s3_b1_relu")
    errors = [p for p in doc.problems() if p.severity == "error"]
    assert [(p.node, p.fix) for p in errors] == [("head", "fit_model")]
    before, count = doc.to_json(), doc.undo_stack.count()
    panel.fit_model()
    wait_idle(qtbot, panel.loader)
    assert [p for p in doc.problems() if p.severity == "error"] == []
    assert doc.graph("model").node("pool").type == "GlobalAvgPool"
    assert ws.view().graph_scene.nodes["pool"] is not None  # the canvas shows it
    assert doc.undo_stack.count() == count + 1
    doc.undo()
    assert doc.to_json() == before
