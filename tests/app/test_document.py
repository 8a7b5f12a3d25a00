"""GraphDocument: every edit is undoable, exact, and reported by past-tense signals."""

from __future__ import annotations

import pytest

from app.document import EditError, GraphDocument
from engine.project import load_project
from tests.app.conftest import chain_project


@pytest.fixture
def doc(qapp):
    return GraphDocument(chain_project())


def edges(doc, graph="model"):
    return [(e.src, e.dst, e.dst_port) for e in doc.graph(graph).edges]


def test_removing_a_node_removes_its_edges_and_undo_restores_them_in_place(doc):
    before = doc.to_json()
    doc.remove("model", ["act"])
    assert doc.node("model", "act") is None
    assert edges(doc) == [("x", "fc1", "in"), ("fc2", "y", "in")]
    doc.undo()
    assert doc.to_json() == before


def test_renaming_a_node_rewrites_its_edges(doc):
    new = doc.rename_node("model", "fc1", "Hidden Layer!")
    assert new == "hidden_layer"
    assert ("x", "hidden_layer", "in") in edges(doc)
    assert ("hidden_layer", "act", "in") in edges(doc)


def test_rename_to_a_taken_id_gets_a_fresh_one(doc):
    assert doc.rename_node("model", "fc1", "fc2") == "fc2_2"


@pytest.mark.parametrize(("src", "dst", "reason"), [
    ("fc1", "fc1", "cannot feed itself"),
    ("fc2", "fc1", "already connected"),
    ("y", "fc1", "no output"),
])
def test_connection_problem_names_the_reason(doc, src, dst, reason):
    assert reason in doc.connection_problem("model", src, dst, "in")


def test_a_connection_that_would_make_a_cycle_is_refused(doc):
    doc.remove("model", edges=[("x", "out", "fc1", "in")])
    with pytest.raises(EditError, match="cycle"):
        doc.connect("model", "fc2", "fc1")
    assert ("fc2", "fc1", "in") not in edges(doc)


def test_merge_blocks_get_one_port_per_input(doc):
    nid = doc.add_node("model", "Concat", params={"inputs": 3})
    assert doc.input_ports("model", nid) == ("in0", "in1", "in2")
    assert "no input 'in'" in doc.connection_problem("model", "x", nid, "in")


def test_consecutive_edits_of_one_param_are_one_undo_step(doc):
    start = doc.undo_stack.count()
    for v in (1, 12, 128):
        doc.set_param("model", "fc1", "out_features", v)
    assert doc.undo_stack.count() == start + 1
    doc.undo()
    assert doc.node("model", "fc1").params["out_features"] == 32


def test_edits_of_different_fields_are_separate_steps(doc):
    doc.set_param("model", "fc1", "out_features", 64)
    doc.set_param("model", "fc1", "bias", False)
    doc.set_param("model", "fc1", "out_features", 65)
    assert doc.undo_stack.count() == 3


def test_typing_a_value_back_leaves_no_undo_step(doc):
    doc.set_param("model", "fc1", "out_features", 33)
    doc.set_param("model", "fc1", "out_features", 32)
    assert doc.undo_stack.count() == 0
    assert not doc.is_dirty()


def test_set_field_validates_and_merges(doc):
    with pytest.raises(EditError, match="training.lr"):
        doc.set_field("training", "lr", -1.0)
    doc.set_field("training", "batch_size", 16)
    doc.set_field("training", "batch_size", 128)
    assert doc.undo_stack.count() == 1
    assert doc.project.training.batch_size == 128
    doc.undo()
    assert doc.project.training.batch_size == 64


def test_set_field_reports_settings_changed(doc, qtbot):
    with qtbot.waitSignal(doc.settings_changed) as sig:
        doc.set_field("task", "kind", "regression")
    assert sig.args == ["task", "kind"]


def test_moving_several_nodes_is_one_step(doc):
    doc.move_nodes("model", {"x": (0, 100), "fc1": (220, 100)})
    assert doc.undo_stack.count() == 1
    doc.undo()
    assert doc.node("model", "x").position == (0.0, 0.0)


def test_analysis_reruns_for_the_edited_graph_only(doc, qtbot):
    doc.add_graph("critic")
    seen = []
    doc.analysis_updated.connect(seen.append)
    doc.set_param("model", "fc1", "out_features", 10)
    assert seen == ["model"]
    assert str(doc.analysis("model").nodes["fc1"].out) == "[N, 10]"


def test_graphs_can_be_added_renamed_and_removed_undoably(doc):
    before = doc.to_json()
    name = doc.add_graph("Discriminator")
    assert name == "discriminator"
    assert doc.rename_graph(name, "critic") == "critic"
    doc.remove_graph("model")
    assert doc.graph_names() == ["critic"]
    with pytest.raises(EditError, match="at least one graph"):
        doc.remove_graph("critic")
    for _ in range(3):
        doc.undo()
    assert doc.to_json() == before


def test_renaming_a_graph_keeps_its_place_in_the_project(doc):
    doc.add_graph("critic")
    doc.rename_graph("model", "generator")
    assert doc.graph_names() == ["generator", "critic"]


def test_paste_gives_fresh_ids_and_keeps_only_inner_edges(doc):
    payload = doc.copy_payload("model", ["fc1", "act"])
    new = doc.paste("model", payload, offset=(0, 200))
    assert new == ["fc1_2", "act_2"]
    assert ("fc1_2", "act_2", "in") in edges(doc)
    assert doc.node("model", "fc1_2").position == (220.0, 200.0)
    assert len(doc.graph("model").edges) == 5


def test_dirty_follows_the_undo_stack_and_saving(doc, tmp_path):
    assert not doc.is_dirty()
    doc.set_param("model", "fc1", "out_features", 8)
    assert doc.is_dirty()
    doc.undo()
    assert not doc.is_dirty()
    doc.redo()
    doc.save(tmp_path / "a.lforge")
    assert not doc.is_dirty()
    assert load_project(tmp_path / "a.lforge").graphs["model"].node("fc1").params["out_features"] == 8


def test_a_recovered_project_starts_dirty(doc):
    doc.replace_project(chain_project(7), "/tmp/x.lforge", dirty=True)
    assert doc.is_dirty()
    assert doc.undo_stack.count() == 0


def test_new_blocks_store_their_default_params_explicitly(doc):
    nid = doc.add_node("model", "Conv2d", (10, 20))
    node = doc.node("model", nid)
    assert node.params["out_channels"] == 32
    assert node.params["kernel_size"] == 3
    assert node.position == (10.0, 20.0)


def test_unknown_block_type_is_refused(doc):
    with pytest.raises(EditError, match="no block type"):
        doc.add_node("model", "NoSuchBlock")
