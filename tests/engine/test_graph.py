from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph


def chain(*specs, edges=None) -> Graph:
    nodes = [Node(id=i, type=t, params=p) for i, t, p in specs]
    if edges is None:
        edges = [Edge(src=a.id, dst=b.id) for a, b in zip(nodes, nodes[1:], strict=False)]
    return Graph(nodes=nodes, edges=edges)


def messages(g: Graph) -> list[str]:
    return [str(p) for p in analyze_graph(g).problems]


MLP = [("x", "Input", {"shape": [4]}), ("fc", "Linear", {"out_features": 3}), ("y", "Output", {})]


def test_valid_chain_has_no_problems_and_right_shapes():
    a = analyze_graph(chain(*MLP))
    assert a.ok and not a.problems
    assert a.nodes["fc"].out.shape == (3,) and a.nodes["fc"].params == 15


def test_cycle_is_reported_on_its_nodes():
    g = chain(("x", "Input", {"shape": [4]}), ("a", "Linear", {"out_features": 4}),
              ("b", "ReLU", {}), ("y", "Output", {}),
              edges=[Edge(src="x", dst="a", dst_port="in"), Edge(src="b", dst="y")])
    g.edges.append(Edge(src="b", dst="a"))  # a's port is now connected twice
    g2 = chain(("x", "Input", {"shape": [4]}), ("a", "Add", {}), ("b", "ReLU", {}), ("y", "Output", {}),
               edges=[Edge(src="x", dst="a", dst_port="in0"), Edge(src="b", dst="a", dst_port="in1"),
                      Edge(src="a", dst="b"), Edge(src="b", dst="y")])
    msgs = messages(g2)
    assert ("model/a: is part of a cycle a -> b -> a: a network must flow one way from inputs "
            "to outputs; remove one of these connections") in msgs
    assert any("model/b: is part of a cycle" in m for m in msgs)
    assert any("connected twice" in m for m in messages(g))


def test_unconnected_port_and_missing_output():
    g = chain(("x", "Input", {"shape": [4]}), ("fc", "Linear", {}), edges=[])
    msgs = messages(g)
    assert "model/fc: its input is not connected" in msgs
    assert "model: the graph has no Output block" in msgs


def test_duplicate_and_bad_ids_unknown_types_and_bad_params():
    g = chain(("x", "Input", {"shape": [4]}), ("x", "ReLU", {}), ("Bad Id", "ReLU", {}),
              ("z", "Wormhole", {}), ("k", "Linear", {"out_features": 10**12}),
              ("y", "Output", {}), edges=[])
    msgs = messages(g)
    assert any("duplicate id 'x'" in m for m in msgs)
    assert any("model/Bad Id: id 'Bad Id' must use lower-case" in m for m in msgs)
    assert "model/z: unknown block type 'Wormhole'" in msgs
    assert "model/k: out_features must be at most 1000000, not 1000000000000" in msgs


def test_shape_error_is_pinned_to_the_node_with_the_fix():
    g = chain(("x", "Input", {"shape": [16, 5, 5]}), ("fc", "Linear", {"out_features": 3}),
              ("y", "Output", {}))
    a = analyze_graph(g)
    assert [p.node for p in a.problems] == ["fc"]
    assert "insert Flatten" in a.problems[0].message
    assert a.nodes["y"].out is None and a.nodes["y"].error is None  # waits, not wrong


def test_dead_branch_is_a_warning_not_an_error():
    g = chain(*MLP)
    g.nodes.append(Node(id="extra", type="ReLU"))
    g.edges.append(Edge(src="fc", dst="extra"))
    a = analyze_graph(g)
    assert a.ok
    assert [(p.node, p.severity) for p in a.problems] == [("extra", "warning")]


def test_edge_to_missing_port_or_node():
    g = chain(*MLP)
    g.edges.append(Edge(src="fc", dst="y", dst_port="in7"))
    g.edges.append(Edge(src="ghost", dst="y"))
    msgs = messages(g)
    assert any("y has no input port 'in7'" in m for m in msgs)
    assert any("'ghost' that does not exist" in m for m in msgs)


def test_a_broken_block_does_not_make_its_inputs_dead_ends():
    g = chain(("x", "Input", {"shape": [4]}), ("fc", "Linear", {"out_features": 3}),
              ("bad", "Linear", {"out_features": -1}), ("y", "Output", {}))
    problems = analyze_graph(g).problems
    assert [(p.node, p.severity) for p in problems] == [("bad", "error")]
