"""The layered layout: chains straight and uncrossed, branches side by side, cycles and loose
parts handled, no wire under a block on any template, and fast on big graphs."""

import random
import time

import pytest

from bench.bench_layout import compare, measure, old_layout
from bench.graphs import residual_cnn
from engine.layout import apply_layout, choose_flow, compute_layout
from engine.layout.geometry import WIDTH, Rect, node_height, segment_hits_rect
from engine.layout.route import route_wire
from engine.project import Edge, Graph, Node, load_project, save_project
from engine.templates import list_templates, load_template


def chain(n: int) -> Graph:
    nodes = [Node(id="x", type="Input", params={"shape": [4]})]
    nodes += [Node(id=f"r{i}", type="ReLU") for i in range(n - 2)]
    nodes.append(Node(id="y", type="Output"))
    ids = [v.id for v in nodes]
    return Graph(nodes=nodes, edges=[Edge(src=a, dst=b) for a, b in zip(ids, ids[1:], strict=False)])


def graph(edges: list[tuple[str, str]], add: set[str] = frozenset()) -> Graph:
    ids = list(dict.fromkeys([v for e in edges for v in e]))
    nodes = [Node(id=i, type="Add" if i in add else "ReLU") for i in ids]
    count: dict[str, int] = {}
    out = []
    for a, b in edges:
        port = "in"
        if b in add:
            port = f"in{count.get(b, 0)}"
            count[b] = count.get(b, 0) + 1
        out.append(Edge(src=a, dst=b, dst_port=port))
    return Graph(nodes=nodes, edges=out)


def test_a_short_chain_flows_right_in_one_straight_row():
    g = chain(4)
    layout = compute_layout(g)
    assert layout.flow == "right" == choose_flow(g)
    assert len({y for _, y in layout.positions.values()}) == 1
    xs = [layout.positions[n.id][0] for n in g.nodes]
    assert xs == sorted(xs) and len(set(xs)) == 4


def test_a_deep_chain_flows_down_in_columns_read_top_to_bottom():
    g = chain(12)
    layout = compute_layout(g)
    assert layout.flow == "down" and layout.crossings == 0
    for e in g.edges:  # each wire goes down its column, or on to the top of the next one
        (x0, y0), (x1, y1) = layout.positions[e.src], layout.positions[e.dst]
        assert (x1 == x0 and y1 > y0) or (x1 > x0 and y1 == 0)
    assert measure(g, layout.positions, "down")["crossings"] == 0


def test_a_diamond_opens_side_by_side_and_closes_under_its_source():
    g = graph([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], add={"d"})
    pos = compute_layout(g, "down").positions
    assert pos["b"][1] == pos["c"][1] and abs(pos["b"][0] - pos["c"][0]) >= WIDTH
    assert pos["a"][0] == pos["d"][0]  # symmetric: the merge sits under the fork


def test_a_skip_connection_runs_beside_the_chain_it_skips():
    g = load_template("resnetmini").graphs["model"]
    layout = compute_layout(g)
    pos = layout.positions
    assert layout.crossings == 0
    chain_x = {pos[n][0] for n in ("b1_conv1", "b1_bn1", "b1_relu1", "b1_conv2", "b1_bn2",
                                   "b1_add")}
    assert len(chain_x) == 1  # the residual block's main path is one straight column
    assert pos["b2_short"][1] == pos["b2_conv1"][1]  # the shortcut conv beside the branch


def test_a_cycle_is_laid_out_with_its_back_edge_reversed():
    g = graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    layout = compute_layout(g)
    assert layout.reversed_edges == 1
    assert len(set(layout.positions.values())) == 4


def test_unconnected_parts_sit_side_by_side_without_overlap():
    g = graph([("a", "b"), ("c", "d"), ("d", "e")])
    g.nodes.append(Node(id="lone", type="ReLU"))
    pos = compute_layout(g, "down").positions
    rects = [Rect(x, y, x + WIDTH, y + node_height(1)) for x, y in pos.values()]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a.right <= b.left or b.right <= a.left or a.bottom <= b.top \
                or b.bottom <= a.top


@pytest.mark.parametrize("name", list_templates())
def test_no_wire_passes_under_a_block_and_crossings_never_grow(name):
    results = compare([name])
    assert results and all(key.startswith(f"{name}/") for key in results)
    for key, r in results.items():
        assert r["new"]["under"] == 0, key
        assert r["new"]["crossings"] <= r["old"]["crossings"], key


def test_chains_and_the_resnet_template_have_no_crossing_at_all():
    for g in (chain(5), chain(30), load_template("resnetmini").graphs["model"]):
        layout = compute_layout(g)
        assert measure(g, layout.positions, layout.flow)["crossings"] == 0
    assert measure(g, old_layout(g), "right", old=True)["crossings"] > 0  # it was not so


def test_a_wire_going_backwards_goes_around_the_blocks_between():
    blocks = [Rect(0, 0, 150, 83), Rect(0, 127, 150, 210), Rect(0, 254, 150, 337)]
    route = route_wire((75, 337), (75, 0), "down", blocks)  # bottom block back to the top
    assert len(route) > 2
    for a, b in zip(route, route[1:], strict=False):
        assert not any(segment_hits_rect(a, b, r) for r in blocks)


def test_two_hundred_blocks_are_laid_out_well_under_100_ms():
    rng = random.Random(7)
    ids = [f"n{i}" for i in range(200)]
    edges = [(ids[i], ids[j]) for j in range(1, 200) for i in rng.sample(range(j), 1)]
    edges += [(ids[i], ids[j]) for i, j in (sorted(rng.sample(range(200), 2)) for _ in range(60))]
    for g in (residual_cnn(200), graph(edges)):
        compute_layout(g)  # warm
        seconds = []
        for _ in range(3):  # the best of three: the layout's cost, not the scheduler's
            t0 = time.perf_counter()
            compute_layout(g)
            seconds.append(time.perf_counter() - t0)
        assert min(seconds) < 0.1


def test_apply_layout_sets_the_flow_which_a_saved_project_keeps(tmp_path):
    p = load_template("lenet5")
    g = p.graphs["model"]
    for n in g.nodes:
        n.position = (0.0, 0.0)
    apply_layout(g)
    assert g.flow == "down"
    save_project(p, tmp_path / "p.lforge")
    assert load_project(tmp_path / "p.lforge").graphs["model"].flow == "down"
