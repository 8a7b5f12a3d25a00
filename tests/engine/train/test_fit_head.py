"""Cutting a network at a block (everything after it goes, the Output is fed from it) and
Fit model to data giving a feature extractor a new head for the data's classes, also when
the backbone is a composite."""

from __future__ import annotations

import pytest

from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph
from engine.train.fit import FIT_MODEL, CutError, add_head, check_fit, cut_graph, fit_project
from tests.engine.train.helpers import tiny_mlp


def ids(graph: Graph) -> list[str]:
    return [n.id for n in graph.nodes]


def wires(graph: Graph) -> set[tuple[str, str]]:
    return {(e.src, e.dst) for e in graph.edges}


def test_cut_removes_everything_downstream_and_feeds_the_output() -> None:
    graph = tiny_mlp().graphs["model"]
    cut = cut_graph(graph, "relu2")
    assert ids(cut) == ["points", "fc1", "relu1", "fc2", "relu2", "logits"]
    assert ("relu2", "logits") in wires(cut) and not any("fc3" in w for w in wires(cut))
    assert "fc3" in ids(graph)  # the original is untouched
    assert analyze_graph(cut, "model").ok


def test_cut_drops_what_only_fed_the_removed_part_but_keeps_inputs() -> None:
    graph = Graph(nodes=[Node(id="x", type="Input", params={"shape": [4]}),
                         Node(id="fc1", type="Linear", params={"out_features": 4}),
                         Node(id="side", type="Linear", params={"out_features": 4}),
                         Node(id="add", type="Add", params={"inputs": 2}),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="x", dst="fc1"), Edge(src="x", dst="side"),
                         Edge(src="fc1", dst="add", dst_port="in0"),
                         Edge(src="side", dst="add", dst_port="in1"),
                         Edge(src="add", dst="out")])
    cut = cut_graph(graph, "fc1")
    assert ids(cut) == ["x", "fc1", "out"]
    assert wires(cut) == {("x", "fc1"), ("fc1", "out")}


def test_cutting_at_a_missing_block_is_refused_with_its_name() -> None:
    with pytest.raises(CutError, match="'nope'"):
        cut_graph(tiny_mlp().graphs["model"], "nope")


def backbone_project(head: int | None = None):
    """model: points -> backbone (a composite giving 16 features) [-> head] -> logits."""
    project = tiny_mlp()
    backbone = Graph(nodes=[Node(id="x", type="Input", params={"shape": [2]}),
                            Node(id="fc", type="Linear", params={"out_features": 16}),
                            Node(id="act", type="ReLU"),
                            Node(id="features", type="Output")],
                     edges=[Edge(src="x", dst="fc"), Edge(src="fc", dst="act"),
                            Edge(src="act", dst="features")])
    nodes = [Node(id="points", type="Input", params={"shape": [2]}),
             Node(id="backbone", type="Group", params={"graph": "backbone"})]
    edges = [Edge(src="points", dst="backbone", dst_port="x")]
    last = "backbone"
    if head is not None:
        nodes.append(Node(id="head", type="Linear", params={"out_features": head}))
        edges.append(Edge(src="backbone", dst="head"))
        last = "head"
    nodes.append(Node(id="logits", type="Output"))
    edges.append(Edge(src=last, dst="logits"))
    project.graphs = {"model": Graph(nodes=nodes, edges=edges), "backbone": backbone}
    return project


def test_fit_adds_a_head_to_a_composite_backbone_giving_features() -> None:
    project = backbone_project()
    probs = check_fit(project, _facts(project))
    assert probs and all(p.fix == FIT_MODEL for p in probs)
    assert "add a Linear head with 3 outputs" in probs[0].message
    changes = fit_project(project, _facts(project))
    model = project.graphs["model"]
    assert ids(model) == ["points", "backbone", "head", "logits"]
    assert model.node("head").params == {"out_features": 3}
    assert wires(model) >= {("backbone", "head"), ("head", "logits")}
    assert any("added Linear 'head' with 3 outputs" in c for c in changes)
    assert check_fit(project, _facts(project)) == []


def test_fit_resizes_the_head_after_a_composite_backbone() -> None:
    project = backbone_project(head=1000)
    changes = fit_project(project, _facts(project))
    assert project.graphs["model"].node("head").params["out_features"] == 3
    assert changes == ["model/head: out_features set to 3"]


def test_an_image_output_gets_pooled_before_the_new_head() -> None:
    graph = Graph(flow="down", nodes=[
        Node(id="image", type="Input", params={"shape": [3, 8, 8]}),
        Node(id="conv", type="Conv2d", params={"out_channels": 4, "kernel_size": 3}),
        Node(id="out", type="Output", position=(0.0, 254.0))],
        edges=[Edge(src="image", dst="conv"), Edge(src="conv", dst="out")])
    add_head(graph, "model", 10)
    assert [n.type for n in graph.nodes] == ["Input", "Conv2d", "GlobalAvgPool", "Linear", "Output"]
    a = analyze_graph(graph, "model")
    assert a.ok and tuple(a.output_specs()[0].shape) == (10,)
    positions = [n.position[1] for n in graph.nodes[2:]]
    assert positions == sorted(positions) and len(set(positions)) == 3  # laid along the flow


def _facts(project):
    from engine.data import load_dataset

    return load_dataset(project.dataset)


def test_cutting_a_backbone_before_its_pooling_then_fitting_pools_into_the_head():
    """Cut Here inside the template's ResNet-18 leaves its head an image; the problem says
    Fit model to data repairs it, and fitting adds a GlobalAvgPool before the head."""
    from engine.data.facts import quick_facts
    from engine.shapes import project_problems
    from engine.templates import load_template

    project = load_template("transfer")
    project.graphs["resnet18"] = cut_graph(project.graphs["resnet18"], "s3_b1_relu")
    facts = quick_facts(project.dataset)
    (problem,) = [p for p in check_fit(project, facts) if p.severity == "error"]
    assert problem.node == "head" and problem.fix == FIT_MODEL
    assert "Fit model to data adds a global average pool" in problem.message
    changes = fit_project(project, facts)
    assert changes == ["model: added GlobalAvgPool 'pool' before 'head' (it got the image "
                       "[N, 256, 4, 4])"]
    assert [p for p in project_problems(project) if p.severity == "error"] == []
    assert check_fit(project, facts) == []
