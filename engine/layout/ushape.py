"""The U layout of an encoder-decoder network (a U-Net): one row per resolution, the
encoder descending on the left, the decoder climbing on the right, so each skip
connection is a straight wire along its row, as the architecture is usually drawn.

The layered layout (:mod:`engine.layout`) lays such graphs out as one tall column whose
skip wires run its whole length; this one reads the resolutions from the analysis.
"""

from __future__ import annotations

import math

from engine.layout.geometry import WIDTH
from engine.project import Graph
from engine.shapes import GraphAnalysis

COL = WIDTH + 50.0  # one block and the gap after it
ROW = 140.0


def _levels(graph: Graph, analysis: GraphAnalysis) -> dict[str, int] | None:
    """How many times each block's output was halved from the input's side (a block
    without an image output takes its source's level); None when the graph has no image
    input or a block's level cannot be read."""
    order = analysis.structure.order
    first = analysis.nodes.get(order[0]) if order else None
    if first is None or first.out is None or len(first.out.shape) != 3:
        return None
    side = first.out.shape[-1]
    levels: dict[str, int] = {}
    for nid in order:
        info = analysis.nodes.get(nid)
        shape = info.out.shape if info is not None and info.out is not None else None
        if shape is not None and len(shape) == 3 and isinstance(shape[-1], int) and shape[-1] > 0:
            levels[nid] = max(0, round(math.log2(side / shape[-1])))
            continue
        sources = [s for s in analysis.structure.sources.get(nid, []) if s in levels]
        if not sources:
            return None
        levels[nid] = levels[sources[0]]
    return levels


def u_layout(graph: Graph, analysis: GraphAnalysis) -> dict[str, tuple[float, float]] | None:
    """Top-left corners of every block in the U layout (flow right), or None when the graph
    is not an image encoder-decoder (then keep the layered layout)."""
    levels = _levels(graph, analysis)
    order = analysis.structure.order
    if levels is None or len(order) != len(graph.nodes):
        return None
    deepest = max(levels.values())
    if deepest == 0:
        return None
    turn = next(i for i, nid in enumerate(order) if levels[nid] == deepest)
    rest = order[turn:]
    climb = next((i for i, nid in enumerate(rest) if levels[nid] < deepest), len(rest))
    down, bottom, up = order[:turn], rest[:climb], rest[climb:]
    pos: dict[str, tuple[float, float]] = {}
    ends: list[float] = []
    rows: dict[int, list[str]] = {}
    for nid in down:
        rows.setdefault(levels[nid], []).append(nid)
    rows.setdefault(deepest, []).extend(bottom)
    for level, nids in rows.items():
        for k, nid in enumerate(nids):
            pos[nid] = ((level + k) * COL, level * ROW)
        ends.append((level + len(nids)) * COL)
    start = max(ends) + COL / 2
    climbing: dict[int, list[str]] = {}
    for nid in up:
        climbing.setdefault(levels[nid], []).append(nid)
    for level, nids in climbing.items():
        x0 = start + (deepest - 1 - level) * COL
        for k, nid in enumerate(nids):
            pos[nid] = (x0 + k * COL, level * ROW)
    return pos


def apply_u_layout(graph: Graph, analysis: GraphAnalysis) -> bool:
    """Lay ``graph`` out as a U (flow right) when it is an encoder-decoder; whether it was."""
    pos = u_layout(graph, analysis)
    if pos is None:
        return False
    graph.flow = "right"
    for n in graph.nodes:
        n.position = pos[n.id]
    return True
