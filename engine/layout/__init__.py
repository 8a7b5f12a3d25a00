"""Automatic layered layout for templates, imported graphs and the Auto Layout command.

``compute_layout`` draws a graph in layers (Sugiyama's method): cycles broken, longest-path
layers, dummy nodes on long edges, crossings minimised by median sweeps with transpositions,
then coordinates that keep chains straight (``place.py``). Deep networks flow top to bottom,
short ones left to right (``choose_flow``). Wires are routed around blocks by ``route.py``.
See docs/decisions/0005-layered-layout-and-wire-routing.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.layout.geometry import WIDTH, Flow, node_height, node_ports
from engine.layout.layered import Hierarchy, build_hierarchy, order_layers
from engine.layout.place import assign_across
from engine.project import Graph

__all__ = ["Flow", "Layout", "apply_layout", "choose_flow", "compute_layout", "layered_layout"]

DEEP = 6  # a graph with at least this many layers flows top to bottom
GAP_DOWN = 44.0  # between layers flowing down (room for a wire's shape label)
GAP_RIGHT = 80.0  # between layers flowing right
GAP_BLOCKS = 40.0  # between two blocks of one layer
GAP_LANE = 28.0  # between a block and a wire lane, or two lanes
GAP_PARTS = 80.0  # between unconnected parts of a graph
GAP_BANDS = 90.0  # between the columns of a wrapped deep network (a return wire's gutter)
ASPECT = 1.6  # the width:height a wrapped network aims at (a canvas is wider than tall)
MAX_BANDS = 6
WRAP_TALL = 900.0  # a column shorter than this is never wrapped


@dataclass(frozen=True)
class Layout:
    """Where each block goes (top-left corners), the flow, and how the layering went."""

    flow: Flow
    positions: dict[str, tuple[float, float]]
    layers: int  # the deepest part's number of layers
    crossings: int  # crossings left between layers (0 for chains and trees)
    reversed_edges: int  # edges against the flow (cycles)


def _parts(n: int, edges: list[tuple[int, int, float]]) -> list[list[int]]:
    parent = list(range(n))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for a, b, _ in edges:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for v in range(n):
        groups.setdefault(find(v), []).append(v)
    return list(groups.values())


def _graph_edges(graph: Graph) -> tuple[list[str], list[float], list[tuple[int, int, float]]]:
    ids = [n.id for n in graph.nodes]
    index = {nid: i for i, nid in enumerate(ids)}
    ports: list[tuple[str, ...]] = []
    heights: list[float] = []
    for n in graph.nodes:
        names, _ = node_ports(n)
        ports.append(names)
        heights.append(node_height(len(names)))
    edges: list[tuple[int, int, float]] = []
    seen: set[tuple[int, int, float]] = set()
    for e in graph.edges:
        a, b = index.get(e.src), index.get(e.dst)
        if a is None or b is None or a == b:
            continue
        names = ports[b]
        k = names.index(e.dst_port) if e.dst_port in names else 0
        # A wire into a later input lands further right (down) or lower (right): crossing
        # counts see where it really ends.
        offset = 0.0 if len(names) < 2 else (k + 1) / (len(names) + 1) - 0.5
        if (a, b, offset) not in seen:
            seen.add((a, b, offset))
            edges.append((a, b, offset))
    return ids, heights, edges


def _bands(h: Hierarchy, size: list[float], width: float) -> list[int]:
    """Which column each layer of a deep network goes to. A long chain is cut into side by
    side columns (as ELK's graph wrapping does) so it fits a wide screen, only where a single
    wire joins the two parts (never through a residual block), choosing the number of
    columns that comes nearest the screen's proportions. The wire across a cut is routed up
    the gutter between the columns."""
    n = len(size)
    if sum(size) <= WRAP_TALL:
        return [0] * n
    crossing = [sum(len(h.down[v]) for v in h.layers[i]) for i in range(n - 1)]
    cuts = [i for i in range(n - 1) if crossing[i] == 1]
    best: tuple[float, list[int]] = (abs(math.log(width / sum(size) / ASPECT)), [0] * n)
    for b in range(2, min(MAX_BANDS, len(cuts) + 1) + 1):
        chosen: list[int] = []
        for k in range(1, b):
            free = [c for c in cuts if not chosen or c > chosen[-1]]
            if not free:
                break
            chosen.append(min(free, key=lambda c: abs(c + 1 - k * n / b)))
        if len(chosen) != b - 1:
            continue
        band = [sum(1 for c in chosen if c < i) for i in range(n)]
        tall = max(sum(s for s, j in zip(size, band, strict=True) if j == k) for k in range(b))
        score = abs(math.log((b * width + (b - 1) * GAP_BANDS) / tall / ASPECT))
        if score < best[0]:
            best = (score, band)
    return best[1]


def choose_flow(graph: Graph) -> Flow:
    """Top to bottom for a network deeper than a few layers, else left to right."""
    ids, _, edges = _graph_edges(graph)
    deepest = 0
    for part in _parts(len(ids), edges):
        local = {v: i for i, v in enumerate(part)}
        sub = [(local[a], local[b], o) for a, b, o in edges if a in local]
        deepest = max(deepest, len(build_hierarchy(len(part), sub).layers))
    return "down" if deepest >= DEEP else "right"


def compute_layout(graph: Graph, flow: Flow | None = None) -> Layout:
    """Lay ``graph`` out in layers along ``flow`` (default: ``choose_flow``). Unconnected
    parts sit side by side across the flow, in the order of their first block."""
    ids, heights, edges = _graph_edges(graph)
    flow = flow or choose_flow(graph)
    along_size = heights if flow == "down" else [WIDTH] * len(ids)
    across_size = [WIDTH] * len(ids) if flow == "down" else heights
    gap_along = GAP_DOWN if flow == "down" else GAP_RIGHT
    positions: dict[str, tuple[float, float]] = {}
    start = 0.0  # across the flow, where the next part begins
    deepest = crossings = n_rev = 0
    for part in _parts(len(ids), edges):
        local = {v: i for i, v in enumerate(part)}
        sub = [(local[a], local[b], o) for a, b, o in edges if a in local]
        h: Hierarchy = build_hierarchy(len(part), sub)
        crossings += order_layers(h)
        n_rev += h.reversed_edges
        deepest = max(deepest, len(h.layers))
        centre = assign_across(h, [across_size[v] for v in part], GAP_BLOCKS, GAP_LANE)
        # Along the flow each layer is as deep as its biggest block.
        depth = [0.0] * len(h.layers)
        for i, v in enumerate(part):
            depth[h.layer[i]] = max(depth[h.layer[i]], along_size[v])
        low = min(centre[i] - across_size[v] / 2 for i, v in enumerate(part))
        high = max(centre[i] + across_size[v] / 2 for i, v in enumerate(part))
        lanes = [c for c in centre[len(part):]]
        low, high = min([low, *lanes]), max([high, *lanes])
        size = [d + gap_along for d in depth]
        band = _bands(h, size, high - low) if flow == "down" else [0] * len(depth)
        begin, at = [], 0.0
        for i, d in enumerate(size):
            if i and band[i] != band[i - 1]:
                at = 0.0
            begin.append(at)
            at += d
        for i, v in enumerate(part):
            shift = band[h.layer[i]] * (high - low + GAP_BANDS)
            across = round(start + shift + centre[i] - low - across_size[v] / 2)
            along = round(begin[h.layer[i]])
            positions[ids[v]] = (float(across), float(along)) if flow == "down" \
                else (float(along), float(across))
        start += (band[-1] + 1) * (high - low + GAP_BANDS) - GAP_BANDS + GAP_PARTS
    return Layout(flow, positions, deepest, crossings, n_rev)


def layered_layout(graph: Graph, flow: Flow | None = None) -> dict[str, tuple[float, float]]:
    """The top-left corner of every block under ``compute_layout``."""
    return compute_layout(graph, flow).positions


def apply_layout(graph: Graph, flow: Flow | None = None) -> None:
    """Lay ``graph`` out in place: its blocks' positions and its flow."""
    layout = compute_layout(graph, flow)
    graph.flow = layout.flow
    for n in graph.nodes:
        n.position = layout.positions[n.id]
