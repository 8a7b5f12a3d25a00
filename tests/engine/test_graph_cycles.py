"""Cycles are blamed on the blocks on the cycle only, named in the order they loop."""

from __future__ import annotations

from engine.graph import check_structure
from engine.project import Edge, Graph, Node


def _graph(nodes: list[tuple[str, str, dict]], edges: list[tuple[str, str, str]]) -> Graph:
    return Graph(nodes=[Node(id=i, type=t, params=p) for i, t, p in nodes],
                 edges=[Edge(src=s, dst=d, dst_port=port) for s, d, port in edges])


def _cycle_problems(g: Graph) -> dict[str, str]:
    return {p.node: p.message for p in check_structure(g).problems if "cycle" in p.message}


def test_a_cycle_blames_only_its_blocks_not_their_producers_or_consumers() -> None:
    # x -> pre -> a(in0);  a -> b -> c -> a(in1) is the cycle;  c -> post -> y consume it
    g = _graph([("x", "Input", {"shape": [4]}), ("pre", "Linear", {"out_features": 4}),
                ("a", "Add", {}), ("b", "ReLU", {}), ("c", "Tanh", {}),
                ("post", "Linear", {"out_features": 2}), ("y", "Output", {})],
               [("x", "pre", "in"), ("pre", "a", "in0"), ("c", "a", "in1"), ("a", "b", "in"),
                ("b", "c", "in"), ("c", "post", "in"), ("post", "y", "in")])
    blamed = _cycle_problems(g)
    assert set(blamed) == {"a", "b", "c"}
    for node in ("a", "b", "c"):
        assert "a -> b -> c -> a" in blamed[node]


def test_a_self_loop_is_a_cycle_of_one_block() -> None:
    g = _graph([("x", "Input", {"shape": [4]}), ("a", "Add", {}), ("y", "Output", {})],
               [("x", "a", "in0"), ("a", "a", "in1"), ("a", "y", "in")])
    blamed = _cycle_problems(g)
    assert set(blamed) == {"a"} and "a -> a" in blamed["a"]


def test_two_separate_cycles_are_each_named_in_their_own_order() -> None:
    g = _graph([("x", "Input", {"shape": [4]}), ("a", "Add", {}), ("b", "ReLU", {}),
                ("c", "Add", {}), ("d", "Tanh", {}), ("y", "Output", {})],
               [("x", "a", "in0"), ("b", "a", "in1"), ("a", "b", "in"),
                ("b", "c", "in0"), ("d", "c", "in1"), ("c", "d", "in"), ("d", "y", "in")])
    blamed = _cycle_problems(g)
    assert set(blamed) == {"a", "b", "c", "d"}
    assert "a -> b -> a" in blamed["b"] and "c -> d -> c" in blamed["c"]
