"""Automatic layered left-to-right layout for templates and imported graphs."""

from __future__ import annotations

from engine.project import Graph

COLUMN = 230.0  # horizontal distance between layers
ROW = 110.0  # vertical distance between blocks in one layer
MAX_COLUMNS = 5  # longer networks wrap into bands below, like lines of text


def layered_layout(graph: Graph, max_columns: int = MAX_COLUMNS) -> dict[str, tuple[float, float]]:
    """Positions for every node: a column per longest-path depth, rows ordered to keep
    wires short (a barycentre sweep). Past ``max_columns`` layers the layout wraps into a
    new band under the previous one, so a deep network fits a wide screen. Nodes on a
    cycle go to the last column."""
    ids = [n.id for n in graph.nodes]
    known = set(ids)
    preds: dict[str, list[str]] = {i: [] for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    for e in graph.edges:
        if e.src in known and e.dst in known:
            preds[e.dst].append(e.src)
            succs[e.src].append(e.dst)
    depth: dict[str, int] = {}
    indeg = {i: len(preds[i]) for i in ids}
    ready = [i for i in ids if indeg[i] == 0]
    for i in ready:
        depth[i] = 0
    while ready:
        n = ready.pop(0)
        for t in succs[n]:
            depth[t] = max(depth.get(t, 0), depth[n] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    last = max(depth.values(), default=-1) + 1
    for i in ids:
        depth.setdefault(i, last)
    layers: dict[int, list[str]] = {}
    for i in ids:
        layers.setdefault(depth[i], []).append(i)
    row: dict[str, float] = {}
    for d in sorted(layers):
        members = layers[d]
        if d > 0:
            def bary(n: str) -> float:
                ps = [row[p] for p in preds[n] if p in row]
                return sum(ps) / len(ps) if ps else 0.0
            members.sort(key=bary)
        for k, n in enumerate(members):
            row[n] = k - (len(members) - 1) / 2
    # Each band is as tall as its widest layer, plus one row of air.
    band_of = {d: d // max_columns for d in layers}
    height: dict[int, float] = {}
    for d, members in layers.items():
        height[band_of[d]] = max(height.get(band_of[d], 0.0), float(len(members)))
    top: dict[int, float] = {}
    y = 0.0
    for b in sorted(height):
        top[b] = y + (height[b] - 1) / 2
        y += height[b] + 1
    return {i: ((depth[i] % max_columns) * COLUMN, (top[band_of[depth[i]]] + row[i]) * ROW)
            for i in ids}


def apply_layout(graph: Graph) -> None:
    pos = layered_layout(graph)
    for n in graph.nodes:
        n.position = pos[n.id]
