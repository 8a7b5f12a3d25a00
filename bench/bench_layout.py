"""Layout quality on every template: crossings, bends and wires under blocks, old vs new.

"old" is the layout LayerForge shipped before the layered layout (longest-path columns, one
barycentre sweep, wrapped into bands of five columns, wires drawn as left-to-right S-curves
or arcs above their row), kept here to measure against; "new" is ``engine.layout`` with the
wires routed by ``engine.layout.route``. Run: ``python -m bench bench_layout``.
"""

from __future__ import annotations

import time
from itertools import combinations

from engine.layout import compute_layout
from engine.layout.geometry import (
    WIDTH,
    Flow,
    Point,
    Rect,
    cubic_points,
    input_offset,
    node_height,
    node_ports,
    output_offset,
    polyline_hits_rect,
    segments_cross,
)
from engine.layout.route import bends, wire_polyline
from engine.project import Graph
from engine.templates import list_templates, load_template

OLD_COLUMN, OLD_ROW, OLD_MAX_COLUMNS = 230.0, 110.0, 5
OLD_SKIP_SPAN, OLD_LIFT = WIDTH + 120, 80.0


def old_layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """The previous algorithm, unchanged: longest-path columns, one barycentre sweep, bands."""
    ids = [n.id for n in graph.nodes]
    preds: dict[str, list[str]] = {i: [] for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    for e in graph.edges:
        if e.src in preds and e.dst in preds:
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
    band_of = {d: d // OLD_MAX_COLUMNS for d in layers}
    height: dict[int, float] = {}
    for d, members in layers.items():
        height[band_of[d]] = max(height.get(band_of[d], 0.0), float(len(members)))
    top: dict[int, float] = {}
    y = 0.0
    for b in sorted(height):
        top[b] = y + (height[b] - 1) / 2
        y += height[b] + 1
    return {i: ((depth[i] % OLD_MAX_COLUMNS) * OLD_COLUMN,
                (top[band_of[depth[i]]] + row[i]) * OLD_ROW) for i in ids}


def _old_wire(p0: Point, p1: Point) -> list[Point]:
    # The previous EdgeItem path: an S-curve, or an arc above the row for a long shortcut.
    if p1[0] - p0[0] > OLD_SKIP_SPAN and abs(p1[1] - p0[1]) < OLD_LIFT:
        top = min(p0[1], p1[1]) - OLD_LIFT
        return [p0, (p0[0] + 40, top), (p1[0] - 40, top), p1]
    dx = max(40.0, abs(p1[0] - p0[0]) * 0.5)
    return cubic_points(p0, (p0[0] + dx, p0[1]), (p1[0] - dx, p1[1]), p1)


def wires(graph: Graph, positions: dict[str, tuple[float, float]], flow: Flow,
          old: bool = False) -> list[tuple[str, str, list[Point], int]]:
    """Every wire as drawn: (src, dst, polyline, bends)."""
    rects: dict[str, Rect] = {}
    ports: dict[str, tuple[str, ...]] = {}
    for n in graph.nodes:
        names, _ = node_ports(n)
        ports[n.id] = names
        x, y = positions[n.id]
        rects[n.id] = Rect(x, y, x + WIDTH, y + node_height(len(names)))
    blocks = list(rects.values())
    out = []
    for e in graph.edges:
        if e.src not in rects or e.dst not in rects:
            continue
        a, b = rects[e.src], rects[e.dst]
        names = ports[e.dst]
        k = names.index(e.dst_port) if e.dst_port in names else 0
        ox, oy = output_offset(flow, a.bottom - a.top)
        ix, iy = input_offset(flow, k, max(1, len(names)), b.bottom - b.top)
        p0, p1 = (a.left + ox, a.top + oy), (b.left + ix, b.top + iy)
        if old:
            line = _old_wire(p0, p1)
            out.append((e.src, e.dst, line, 2 if len(line) == 4 else 0))
        else:
            line = wire_polyline(p0, p1, flow, blocks)
            out.append((e.src, e.dst, line, 0 if len(line) > 8 else bends(line)))
    return out


def measure(graph: Graph, positions: dict[str, tuple[float, float]], flow: Flow,
            old: bool = False) -> dict[str, int]:
    """Crossings between wires (of different blocks), bends, and wires under a block."""
    ws = wires(graph, positions, flow, old)
    rects = {}
    for n in graph.nodes:
        x, y = positions[n.id]
        rects[n.id] = Rect(x, y, x + WIDTH, y + node_height(len(node_ports(n)[0])))
    crossings = 0
    for (s1, d1, l1, _), (s2, d2, l2, _) in combinations(ws, 2):
        if {s1, d1} & {s2, d2}:
            continue  # wires of one block meet at its ports
        crossings += sum(1 for i in range(len(l1) - 1) for j in range(len(l2) - 1)
                         if segments_cross(l1[i], l1[i + 1], l2[j], l2[j + 1]))
    under = sum(1 for s, d, line, _ in ws
                if any(polyline_hits_rect(line, r) for nid, r in rects.items()
                       if nid not in (s, d)))
    return {"crossings": crossings, "bends": sum(b for *_, b in ws), "under": under}


def compare(templates: list[str] | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """Per template (all, or ``templates``) and graph: the old and the new layout's
    figures."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for t in list_templates() if templates is None else templates:
        for name, g in load_template(t).graphs.items():
            new = compute_layout(g)
            out[f"{t}/{name}"] = {"old": measure(g, old_layout(g), "right", old=True),
                                  "new": measure(g, new.positions, new.flow)}
    return out


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    for key, r in compare().items():
        o, n = r["old"], r["new"]
        print(f"   {key:28} crossings {o['crossings']:3} -> {n['crossings']:3}   bends "
              f"{o['bends']:3} -> {n['bends']:3}   wires under blocks {o['under']:3} -> "
              f"{n['under']:3}")
        tag = key.replace("/", "_")
        for k in ("crossings", "bends", "under"):
            figures[f"layout_{tag}_{k}_old"] = float(o[k])
            figures[f"layout_{tag}_{k}_new"] = float(n[k])
    from bench.graphs import residual_cnn
    g = residual_cnn(200)
    t0 = time.perf_counter()
    compute_layout(g)
    figures["layout_200_ms"] = (time.perf_counter() - t0) * 1000
    return figures
