"""ProjectModel: each mutator changes one thing, says so with its past-tense signal, and the
graphs it touched are re-analysed once per batch. Undo commands need nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import app.document.model as model_module
from app.document import GraphDocument
from app.document.commands import OpsCommand
from app.document.ops import InsertNode, Op, SetNodeField
from engine.project import Edge, Graph, Node
from tests.app.conftest import chain_project

DOCUMENT = Path(model_module.__file__).parent
SIGNALS = ("node_added", "node_removed", "node_moved", "node_changed", "node_renamed",
           "edge_added", "edge_removed", "graph_added", "graph_removed", "graph_renamed",
           "settings_changed", "analysis_updated", "edited")


@pytest.fixture
def doc(qapp):
    return GraphDocument(chain_project())


@pytest.fixture
def heard(doc):
    """Every content signal the document emits, in order, as (name, *args)."""
    log: list[tuple] = []
    for name in SIGNALS:
        getattr(doc, name).connect(lambda *args, name=name: log.append((name, *args)))
    return log


def test_insert_node_emits_node_added_then_reanalyses(doc, heard):
    doc.project_model.insert_node("model", 2, Node(id="extra", type="ReLU"))
    assert doc.graph("model").nodes[2].id == "extra"
    assert heard == [("node_added", "model", "extra"), ("analysis_updated", "model"), ("edited",)]
    assert "extra" in doc.analysis("model").structure.params


def test_remove_node_returns_what_it_removed(doc, heard):
    gone = doc.project_model.remove_node("model", 2)
    assert gone.id == "act"
    assert doc.node("model", "act") is None
    assert heard[0] == ("node_removed", "model", "act")


def test_edges_are_inserted_and_removed_at_an_index(doc, heard):
    m = doc.project_model
    before = doc.to_json()
    gone = m.remove_edge("model", 1)
    assert (gone.src, gone.dst) == ("fc1", "act")
    m.insert_edge("model", 1, gone)
    assert doc.to_json() == before
    assert [h[0] for h in heard if h[0].startswith("edge")] == ["edge_removed", "edge_added"]


def test_a_batch_reanalyses_each_touched_graph_once_at_its_end(doc, heard, monkeypatch):
    runs: list[str] = []
    real = model_module.analyze_graph
    monkeypatch.setattr(model_module, "analyze_graph",
                        lambda g, name, **kw: runs.append(name) or real(g, name, **kw))
    m = doc.project_model
    with m.batch():
        m.set_node_field("model", "fc1", "params", {"out_features": 10, "bias": True})
        m.set_node_field("model", "fc2", "label", "head")
        assert runs == []  # nothing analysed while the batch is open
    assert runs == ["model"]
    assert heard[-2:] == [("analysis_updated", "model"), ("edited",)]
    assert str(doc.analysis("model").nodes["fc1"].out) == "[N, 10]"


def test_moving_a_node_does_not_reanalyse(doc, heard):
    doc.project_model.move_node("model", "fc1", (40.0, 60.0))
    assert doc.node("model", "fc1").position == (40.0, 60.0)
    assert heard == [("node_moved", "model", "fc1"), ("edited",)]


def test_set_node_field_refuses_the_position(doc):
    with pytest.raises(ValueError, match="position"):
        doc.project_model.set_node_field("model", "fc1", "position", (1.0, 2.0))


def test_the_model_keeps_its_own_copy_of_what_it_is_given(doc):
    node = Node(id="extra", type="Linear", params={"out_features": 4, "bias": True})
    params = {"out_features": 5, "bias": True}
    doc.project_model.insert_node("model", 0, node)
    doc.project_model.set_node_field("model", "extra", "params", params)
    node.params["out_features"] = 99
    params["out_features"] = 99
    assert doc.node("model", "extra").params["out_features"] == 5


def test_renaming_back_with_the_recorded_ends_is_exact_beside_a_dangling_wire(qapp):
    project = chain_project()
    # A wire from a file that names a block that does not exist (yet): "hidden".
    project.graphs["model"].edges.append(Edge(src="hidden", dst="y", dst_port="extra"))
    doc = GraphDocument(project)
    before = doc.to_json()
    ends = doc.project_model.rename_node("model", "fc1", "hidden")
    assert sorted(ends) == [(0, "dst"), (1, "src")]
    doc.project_model.rename_node("model", "hidden", "fc1", ends)
    assert doc.to_json() == before


def test_rename_node_reports_rewired_edges_around_the_rename(doc, heard):
    doc.project_model.rename_node("model", "act", "relu")
    names = [h[0] for h in heard]
    assert names[:5] == ["edge_removed", "edge_removed", "node_renamed", "edge_added",
                         "edge_added"]
    assert ("edge_added", "model", ("relu", "out", "fc2", "in")) in heard


def test_set_setting_emits_settings_changed_without_reanalysis(doc, heard):
    doc.project_model.set_setting("training", "batch_size", 16)
    assert doc.project.training.batch_size == 16
    assert heard == [("settings_changed", "training", "batch_size"), ("edited",)]


def test_graphs_are_inserted_renamed_and_removed_in_place(doc, heard):
    m = doc.project_model
    m.insert_graph("critic", 0, Graph())
    assert doc.graph_names() == ["critic", "model"]
    m.rename_graph("model", "generator")
    assert doc.graph_names() == ["critic", "generator"]
    assert ("analysis_updated", "generator") in heard  # its problems name the graph
    gone = m.remove_graph("critic")
    assert gone.nodes == [] and doc.graph_names() == ["generator"]
    assert [h for h in heard if h[0].startswith("graph")] == [
        ("graph_added", "critic"), ("graph_renamed", "model", "generator"),
        ("graph_removed", "critic")]
    with pytest.raises(KeyError):
        doc.project_model.analysis("critic")


def test_a_new_command_needs_only_the_model(doc):
    """An op written from mutators alone undoes and redoes through the document's stack."""

    class SwapLabels(Op):
        def __init__(self, a: str, b: str) -> None:
            self.a, self.b = a, b

        def apply(self, model) -> None:
            g = model.project.graphs["model"]
            la, lb = g.node(self.a).label, g.node(self.b).label
            model.set_node_field("model", self.a, "label", lb)
            model.set_node_field("model", self.b, "label", la)

        revert = apply

    doc.set_label("model", "fc1", "first")
    before = doc.to_json()
    doc.undo_stack.push(OpsCommand(doc.project_model, "Swap", [
        SwapLabels("fc1", "fc2"),
        InsertNode("model", 5, Node(id="z", type="ReLU")),
        SetNodeField("model", "z", "label", "", "zed"),
    ]))
    assert doc.node("model", "fc2").label == "first" and doc.node("model", "z").label == "zed"
    doc.undo()
    assert doc.to_json() == before


@pytest.mark.parametrize("name", ["ops.py", "commands.py"])
def test_ops_and_commands_use_no_private_member_of_another_object(name):
    """The point of the mutators: an op or a command knows only public API."""
    tree = ast.parse((DOCUMENT / name).read_text())
    private = [f"{ast.unparse(n)} (line {n.lineno})" for n in ast.walk(tree)
               if isinstance(n, ast.Attribute) and n.attr.startswith("_")
               and not n.attr.startswith("__")
               and not (isinstance(n.value, ast.Name) and n.value.id == "self")]
    assert private == []
