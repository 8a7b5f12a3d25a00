import pytest
import torch
from torch.fx.passes.shape_prop import ShapeProp

from engine.compile import CompileError, compile_graph, example_inputs
from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph
from engine.templates import list_templates, load_template

GRAPHS = [(t, name) for t in list_templates() for name in load_template(t).graphs]


def test_every_template_is_listed():
    assert {"mlp", "lenet5", "charlstm", "dcgan", "resnetmini", "autoencoder"} <= set(list_templates())


@pytest.mark.parametrize(("template", "graph_name"), GRAPHS)
def test_compiled_template_agrees_with_inference(template, graph_name):
    graphs = load_template(template).graphs
    graph = graphs[graph_name]
    a = analyze_graph(graph, graph_name, graphs)
    gm = compile_graph(graph, graph_name, analysis=a, library=graphs)
    xs = example_inputs(a, batch=3)
    ShapeProp(gm).propagate(*xs)
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "call_module", "call_function", "call_method") and node.name in a.nodes:
            want = a.nodes[node.name].out
            got = tuple(node.meta["tensor_meta"].shape)
            assert got == (3, *want.shape), f"{template}/{node.name}: {got} vs {want}"
    assert sum(p.numel() for p in gm.parameters()) == a.total_params


@pytest.mark.parametrize(("template", "graph_name"), GRAPHS)
def test_one_optimizer_step_runs_and_changes_weights(template, graph_name):
    graphs = load_template(template).graphs
    graph = graphs[graph_name]
    a = analyze_graph(graph, graph_name, graphs)
    gm = compile_graph(graph, graph_name, analysis=a, library=graphs)
    before = [p.detach().clone() for p in gm.parameters()]
    opt = torch.optim.SGD(gm.parameters(), lr=0.1)
    out = gm(*example_inputs(a, batch=4))
    out.float().pow(2).mean().backward()
    opt.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, gm.parameters(), strict=True))


def test_lenet5_has_exactly_61706_parameters():
    gm = compile_graph(load_template("lenet5").graphs["model"])
    assert sum(p.numel() for p in gm.parameters()) == 61_706


def test_code_reads_like_pytorch_with_node_ids():
    code = compile_graph(load_template("resnetmini").graphs["model"]).code
    assert "b1_add = b1_bn2 + stem_relu" in code
    assert "stem = self.stem(image)" in code
    assert "fc = self.fc(gap)" in code


def test_initialisation_is_seeded_and_per_node():
    g = load_template("mlp").graphs["model"]
    a, b = compile_graph(g, seed=1), compile_graph(g, seed=1)
    for (k, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(p, q), k
    assert not torch.equal(compile_graph(g, seed=2).fc1.weight, a.fc1.weight)
    # adding an unrelated block does not change the others' initial weights
    g2 = g.model_copy(deep=True)
    g2.nodes.insert(0, Node(id="aaa", type="Linear", params={"out_features": 5}))
    g2.edges.append(Edge(src="points", dst="aaa"))
    g2.nodes.append(Node(id="out2", type="Output"))
    g2.edges.append(Edge(src="aaa", dst="out2"))
    assert torch.equal(compile_graph(g2, seed=1).fc1.weight, a.fc1.weight)


def test_multiple_inputs_and_outputs():
    g = Graph(nodes=[Node(id="a", type="Input", params={"shape": [4]}),
                     Node(id="b", type="Input", params={"shape": [6]}),
                     Node(id="cat", type="Concat", params={"dim": -1}),
                     Node(id="fc", type="Linear", params={"out_features": 2}),
                     Node(id="y1", type="Output"), Node(id="y2", type="Output")],
              edges=[Edge(src="a", dst="cat", dst_port="in0"), Edge(src="b", dst="cat", dst_port="in1"),
                     Edge(src="cat", dst="fc"), Edge(src="fc", dst="y1"), Edge(src="cat", dst="y2")])
    gm = compile_graph(g)
    y1, y2 = gm(torch.randn(3, 4), torch.randn(3, 6))
    assert y1.shape == (3, 2) and y2.shape == (3, 10)


def test_graph_with_errors_does_not_compile():
    g = Graph(nodes=[Node(id="x", type="Input", params={"shape": [3, 8, 8]}),
                     Node(id="fc", type="Linear"), Node(id="y", type="Output")],
              edges=[Edge(src="x", dst="fc"), Edge(src="fc", dst="y")])
    with pytest.raises(CompileError, match="model/fc: Linear expects a flat"):
        compile_graph(g)


@pytest.mark.parametrize("name", ["\x00nul", "my model!", "", "class", "ümlaut"])
def test_any_graph_name_gives_a_valid_class_name(name):
    """A graph name is user text (a hostile one reached torch.fx's type() as found by the CLI
    fuzz test: "type name must not contain null characters")."""
    gm = compile_graph(load_template("mlp").graphs["model"], name)
    assert type(gm).__name__.isidentifier() and "\x00" not in type(gm).__name__
