"""Coordinate assignment across the layers: chains straight, branches side by side.

Each layer is placed by solving, exactly, "put every node as close as possible to where its
neighbours want it, keeping the layer's order and the minimum gaps" (a weighted isotonic
regression, solved by pooling adjacent violators in linear time), sweeping down and up the
layers a few times. A block wants to sit on the median of its real neighbours in the layer
before (so a chain stays one straight column and a merge sits under its main input); the
dummy nodes of a long edge only pull on each other, so a skip connection becomes one straight
lane beside the blocks it skips, pushed aside by them rather than pushing them.
"""

from __future__ import annotations

from engine.layout.layered import Hierarchy

ROUNDS = 8
REAL, DUMMY, IDLE = 1.0, 0.4, 0.05  # how hard each kind of node holds to its wish


def _median(values: list[float]) -> float:
    values = sorted(values)
    m = len(values) // 2
    return values[m] if len(values) % 2 else (values[m - 1] + values[m]) / 2


def _isotonic(targets: list[float], weights: list[float]) -> list[float]:
    """The non-decreasing sequence nearest ``targets`` in weighted least squares."""
    pools: list[list[float]] = []  # [value, weight, count]
    for t, w in zip(targets, weights, strict=True):
        pools.append([t, w, 1])
        while len(pools) > 1 and pools[-2][0] > pools[-1][0]:
            v2, w2, c2 = pools.pop()
            v1, w1, c1 = pools.pop()
            pools.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for v, _, c in pools:
        out.extend([v] * int(c))
    return out


def assign_across(h: Hierarchy, extent: list[float], gap: float, lane_gap: float) -> list[float]:
    """Centre coordinates across the flow for every node (dummies included). ``extent`` is
    each block's size across the flow; ``gap`` separates two blocks, ``lane_gap`` a block
    from a dummy lane or two lanes."""
    total = len(h.layer)
    ext = [extent[v] if v < h.n_real else 0.0 for v in range(total)]

    def sep(a: int, b: int) -> float:
        both = a < h.n_real and b < h.n_real
        return (ext[a] + ext[b]) / 2 + (gap if both else lane_gap)

    x = [0.0] * total
    for members in h.layers:
        pos = 0.0
        for i, v in enumerate(members):
            if i:
                pos += sep(members[i - 1], v)
            x[v] = pos
        for v in members:
            x[v] -= pos / 2
    down_nodes = [[w for w, _ in d] for d in h.down]
    for _ in range(ROUNDS):
        for downward in (True, False):
            idx = range(1, len(h.layers)) if downward else range(len(h.layers) - 2, -1, -1)
            for i in idx:
                _place_layer(h, h.layers[i], x, sep, h.up if downward else down_nodes,
                             down_nodes)
    return x


def _place_layer(h: Hierarchy, members: list[int], x: list[float], sep, ref: list[list[int]],
                 down_nodes: list[list[int]]) -> None:
    targets: list[float] = []
    weights: list[float] = []
    for v in members:
        if h.is_dummy(v):
            near = h.up[v] + down_nodes[v]
            lanes = [u for u in near if h.is_dummy(u)]
            targets.append(sum(x[u] for u in lanes or near) / len(lanes or near))
            weights.append(DUMMY)
            continue
        real = [u for u in ref[v] if not h.is_dummy(u)]
        near = real or ref[v]
        if near:
            targets.append(_median([x[u] for u in near]))
            weights.append(REAL if real else DUMMY)
        else:
            targets.append(x[v])
            weights.append(IDLE)
    offsets = [0.0]
    for a, b in zip(members, members[1:], strict=False):
        offsets.append(offsets[-1] + sep(a, b))
    fitted = _isotonic([t - o for t, o in zip(targets, offsets, strict=True)], weights)
    for v, y, o in zip(members, fitted, offsets, strict=True):
        x[v] = y + o
