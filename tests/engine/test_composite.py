"""Composite blocks (decision 0001) in the engine: analysis, compilation and export go
through Group nodes that run another graph of the project."""

from __future__ import annotations

import json

import pytest
import torch

from engine.compile import CompileError, compile_graph
from engine.composite import composite_names, descendants, param_split, top_level, uses
from engine.export import export
from engine.export.weights import load_model
from engine.project import SCHEMA_VERSION, Edge, Graph, Node, Project, parse_project, save_project
from engine.shapes import analyze_graph, analyze_project, project_problems


def resblock(width: int = 8) -> Graph:
    """x -> Linear -> ReLU -> (+ x) -> Output: a residual block over features."""
    return Graph(
        nodes=[Node(id="x", type="Input", params={"shape": [width]}),
               Node(id="fc", type="Linear", params={"out_features": width}),
               Node(id="relu", type="ReLU"),
               Node(id="add", type="Add"),
               Node(id="out", type="Output")],
        edges=[Edge(src="x", dst="fc"), Edge(src="fc", dst="relu"),
               Edge(src="relu", dst="add", dst_port="in0"),
               Edge(src="x", dst="add", dst_port="in1"), Edge(src="add", dst="out")])


def project_with(width: int = 16, classes: int = 3, second_frozen: bool = False) -> Project:
    model = Graph(
        nodes=[Node(id="inp", type="Input", params={"shape": [width]}),
               Node(id="b1", type="Group", params={"graph": "resblock"}),
               Node(id="b2", type="Group", params={"graph": "resblock"},
                    trainable=not second_frozen),
               Node(id="head", type="Linear", params={"out_features": classes}),
               Node(id="out", type="Output")],
        edges=[Edge(src="inp", dst="b1", dst_port="x"), Edge(src="b1", dst="b2", dst_port="x"),
               Edge(src="b2", dst="head"), Edge(src="head", dst="out")])
    return Project(graphs={"model": model, "resblock": resblock(width)})


def test_analysis_goes_through_the_composite_with_the_use_s_inputs():
    p = project_with(width=16)
    a = analyze_project(p)["model"]
    assert a.ok, [str(x) for x in a.problems]
    # the composite declares [8] but runs on the [16] it is given
    assert a.nodes["b1"].out.shape == (16,)
    linear = 16 * 16 + 16
    assert a.nodes["b1"].params == linear == a.nodes["b2"].params
    assert a.total_params == 2 * linear + 16 * 3 + 3
    inner = a.nodes["b1"].inner
    assert inner.nodes["fc"].out.shape == (16,)
    assert a.nodes["b1"].flops == inner.total_flops > 0
    # every inner activation counts toward memory, not only the composite's output
    assert a.nodes["b1"].activations == inner.total_activations == 3 * 16


def test_a_composite_runs_on_the_shape_each_use_gives_it():
    act = Graph(nodes=[Node(id="x", type="Input", params={"shape": [4]}),
                       Node(id="relu", type="ReLU"), Node(id="out", type="Output")],
                edges=[Edge(src="x", dst="relu"), Edge(src="relu", dst="out")])
    model = Graph(nodes=[Node(id="inp", type="Input", params={"shape": [3, 5, 5]}),
                         Node(id="g", type="Group", params={"graph": "act"}),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="inp", dst="g", dst_port="x"), Edge(src="g", dst="out")])
    p = Project(graphs={"model": model, "act": act})
    a = analyze_project(p)
    assert a["model"].nodes["g"].out.shape == (3, 5, 5)
    # the composite on its own is analysed with its declared input
    assert a["act"].nodes["relu"].out.shape == (4,)


def test_a_problem_inside_a_composite_is_pinned_to_the_block_that_uses_it():
    p = project_with(width=16)
    p.graphs["resblock"].nodes[1].params["out_features"] = 4  # the Add then gets 4 and 16
    problems = [x for x in project_problems(p) if x.graph == "model"]
    assert [x.node for x in problems] == ["b1"]
    assert "inside resblock, add:" in problems[0].message
    assert "open its tab" in problems[0].message


@pytest.mark.parametrize(("change", "words"), [
    (lambda p: p.graphs["model"].nodes[1].params.update(graph="nothing"),
     "uses the graph 'nothing', which does not exist"),
    (lambda p: p.graphs["model"].nodes[1].params.update(graph=""),
     "its graph parameter is empty"),
    (lambda p: p.graphs["resblock"].nodes.pop(), "needs exactly one Output"),
])
def test_a_group_node_that_cannot_run_its_graph_says_why(change, words):
    p = project_with()
    change(p)
    messages = [x.message for x in analyze_project(p)["model"].problems if x.node == "b1"]
    assert any(words in m for m in messages), messages


def test_a_composite_that_uses_itself_is_refused_with_the_chain():
    p = project_with(width=8)
    block = p.graphs["resblock"]
    block.nodes.insert(2, Node(id="inner", type="Group", params={"graph": "resblock"}))
    block.edges = [e for e in block.edges if not (e.src == "fc" and e.dst == "relu")]
    block.edges += [Edge(src="fc", dst="inner", dst_port="x"), Edge(src="inner", dst="relu")]
    a = analyze_project(p)
    message = next(x.message for x in a["resblock"].problems if x.node == "inner")
    assert "uses itself (resblock -> resblock)" in message
    assert not a["model"].ok


def test_compiled_composites_are_submodules_named_by_their_node_ids():
    p = project_with()
    gm = compile_graph(p.graphs["model"], "model", seed=3, library=p.graphs)
    assert "b1 = self.b1(inp)" in gm.code
    keys = list(gm.state_dict())
    assert keys == ["b1.fc.weight", "b1.fc.bias", "b2.fc.weight", "b2.fc.bias",
                    "head.weight", "head.bias"]
    # two uses of one definition, each with its own weights
    assert not torch.equal(gm.b1.fc.weight, gm.b2.fc.weight)
    x = torch.randn(4, 16)
    h = x + torch.relu(gm.b1.fc(x))
    h = h + torch.relu(gm.b2.fc(h))
    assert torch.allclose(gm(x), gm.head(h))
    # deterministic per seed
    again = compile_graph(p.graphs["model"], "model", seed=3, library=p.graphs)
    assert all(torch.equal(a, b) for a, b in zip(gm.state_dict().values(),
                                                 again.state_dict().values(), strict=True))


def test_compiling_a_graph_with_a_broken_composite_is_refused():
    p = project_with()
    p.graphs["model"].nodes[1].params["graph"] = "missing"
    with pytest.raises(CompileError, match="b1"):
        compile_graph(p.graphs["model"], "model", library=p.graphs)


def test_uses_top_level_and_descendants():
    p = project_with()
    p.graphs["outer"] = Graph(nodes=[Node(id="a", type="Input", params={"shape": [8]}),
                                     Node(id="g", type="Group", params={"graph": "model"})])
    assert uses(p.graphs)["resblock"] == [("model", "b1"), ("model", "b2")]
    assert composite_names(p.graphs) == {"resblock", "model"}
    assert top_level(p) == ["outer"]
    assert descendants(p.graphs, "outer") == ["model", "resblock"]


def test_param_split_counts_frozen_blocks_and_everything_inside_a_frozen_composite():
    p = project_with(width=16, second_frozen=True)
    trainable, total = param_split(p)
    linear = 16 * 16 + 16
    assert total == 2 * linear + 51
    assert trainable == linear + 51
    # an inner block frozen in the definition is frozen in every use
    p = project_with(width=16)
    p.graphs["resblock"].nodes[1].trainable = False
    assert param_split(p) == (51, 2 * linear + 51)


def test_project_file_round_trip_keeps_composites_and_leaves_defaults_out(tmp_path):
    p = project_with(second_frozen=True)
    p.graphs["model"].nodes[3].lr_mult = 10.0
    path = tmp_path / "c.lforge"
    save_project(p, path)
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == SCHEMA_VERSION
    nodes = {n["id"]: n for n in raw["graphs"]["model"]["nodes"]}
    assert nodes["b2"]["trainable"] is False and "trainable" not in nodes["b1"]
    assert nodes["head"]["lr_mult"] == 10.0 and "lr_mult" not in nodes["b1"]
    assert "weights" not in raw["graphs"]["resblock"]
    assert parse_project(path.read_text()) == p


def test_a_version_2_file_opens_as_the_current_version():
    raw = {"schema_version": 2, "graphs": {"model": {"nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [2]}}], "edges": []}}}
    p = parse_project(json.dumps(raw))
    assert p.schema_version == SCHEMA_VERSION and p.graphs["model"].nodes[0].trainable


@pytest.mark.parametrize("fmt", ["python", "safetensors", "onnx"])
def test_exports_carry_the_composites(tmp_path, fmt):
    p = project_with()
    path = tmp_path / "c.lforge"
    save_project(p, path)
    report = export(path, fmt, tmp_path / "out")
    assert report.files
    if fmt == "python":
        code = (tmp_path / "out" / "model.py").read_text()
        assert "class Resblock(nn.Module):" in code
        assert "self.b1 = Resblock()" in code and "b1 = self.b1(inp)" in code
    if fmt == "safetensors":
        module = load_model(report.files[0])
        x = torch.randn(2, 16)
        reference = compile_graph(p.graphs["model"], "model", p.training.seed, library=p.graphs)
        assert torch.allclose(module(x), reference.eval()(x))
    if fmt == "onnx":
        assert report.worst_diff is not None and report.worst_diff < 1e-4


def test_composite_used_inside_a_composite_compiles_with_nested_names():
    p = project_with(width=8)
    p.graphs["model"].nodes[0].params["shape"] = [8]
    p.graphs["pair"] = Graph(
        nodes=[Node(id="x", type="Input", params={"shape": [8]}),
               Node(id="one", type="Group", params={"graph": "resblock"}),
               Node(id="two", type="Group", params={"graph": "resblock"}),
               Node(id="out", type="Output")],
        edges=[Edge(src="x", dst="one", dst_port="x"), Edge(src="one", dst="two", dst_port="x"),
               Edge(src="two", dst="out")])
    p.graphs["model"].nodes[1].params["graph"] = "pair"
    a = analyze_graph(p.graphs["model"], "model", p.graphs)
    assert a.ok
    gm = compile_graph(p.graphs["model"], "model", library=p.graphs, analysis=a)
    assert "b1.one.fc.weight" in gm.state_dict()
    assert gm(torch.randn(2, 8)).shape == (2, 3)
