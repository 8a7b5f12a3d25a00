"""The first phases of a layered (Sugiyama) drawing: break cycles, assign layers, split long
edges with dummy nodes, and order each layer to minimise crossings.

Nodes are integers: ``0 .. n-1`` are the graph's blocks, higher numbers are dummies. The
caller hands one connected component at a time (see ``engine.layout``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SWEEPS = 24  # down+up sweeps at most; the search stops earlier when it stops improving
PATIENCE = 4  # sweeps without a better ordering before giving up


@dataclass
class Hierarchy:
    """A proper layered graph: every edge joins adjacent layers (``layer[v] + 1``)."""

    n_real: int
    layer: list[int]
    layers: list[list[int]]  # the nodes of each layer, in order
    down: list[list[tuple[int, float]]]  # per node: (lower neighbour, its port's offset)
    up: list[list[int]]  # per node: its upper neighbours
    reversed_edges: int = 0
    chains: list[list[int]] = field(default_factory=list)  # the dummies of each long edge

    def is_dummy(self, v: int) -> bool:
        return v >= self.n_real


def break_cycles(n: int, edges: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], int]:
    """Reverse the edges a depth-first search finds going back to an open node, so the
    graph is acyclic; returns the edges (reversed ones swapped) and how many were reversed."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for a, b in edges:
        succ[a].append(b)
        indeg[b] += 1
    state = [0] * n  # 0 new, 1 open, 2 done
    back: set[tuple[int, int]] = set()
    # Sources first, so a cycle's back edge is the one that closes it, not the entry.
    for root in [v for v in range(n) if indeg[v] == 0] + list(range(n)):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            v, it = stack[-1]
            for w in it:
                if state[w] == 1:
                    back.add((v, w))
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(succ[w])))
                    break
            else:
                state[v] = 2
                stack.pop()
    out = [(b, a) if (a, b) in back else (a, b) for a, b in edges]
    return out, sum(1 for e in edges if e in back)


def assign_layers(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Longest path from the sources, then every source moves down to just above its
    nearest consumer (a second input sits beside the block that reads it, not at the top)."""
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        succ[a].append(b)
        pred[b].append(a)
    layer = [0] * n
    indeg = [len(p) for p in pred]
    ready = [v for v in range(n) if indeg[v] == 0]
    order = []
    while ready:
        v = ready.pop()
        order.append(v)
        for w in succ[v]:
            layer[w] = max(layer[w], layer[v] + 1)
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    for v in range(n):
        if not pred[v] and succ[v]:
            layer[v] = min(layer[w] for w in succ[v]) - 1
    return layer


def build_hierarchy(n: int, edges: list[tuple[int, int, float]]) -> Hierarchy:
    """Layer the graph (edges are ``(src, dst, port offset at dst)``) and split every edge
    that spans several layers into a chain of dummy nodes."""
    plain = [(a, b) for a, b, _ in edges]
    dag, n_rev = break_cycles(n, plain)
    layer = assign_layers(n, dag)
    down: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    up: list[list[int]] = [[] for _ in range(n)]
    chains: list[list[int]] = []
    for (a, b), (src, _, port) in zip(dag, edges, strict=True):
        offset = port if a == src else 0.0  # a reversed edge ends at its source's output
        span = layer[b] - layer[a]
        prev = a
        chain = []
        for k in range(1, span):
            d = len(layer)
            layer.append(layer[a] + k)
            down.append([])
            up.append([])
            down[prev].append((d, 0.0))
            up[d].append(prev)
            chain.append(d)
            prev = d
        down[prev].append((b, offset))
        up[b].append(prev)
        if chain:
            chains.append(chain)
    depth = max(layer, default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(depth)]
    for v in _initial_order(n, len(layer), down, up):
        layers[layer[v]].append(v)
    return Hierarchy(n, layer, layers, down, up, n_rev, chains)


def _initial_order(n: int, total: int, down: list[list[tuple[int, float]]],
                   up: list[list[int]]) -> list[int]:
    # Depth-first from the sources in graph order: a branch's blocks stay together.
    seen = [False] * total
    out: list[int] = []
    for root in [v for v in range(n) if not up[v]] + list(range(total)):
        if seen[root]:
            continue
        stack = [root]
        while stack:
            v = stack.pop()
            if seen[v]:
                continue
            seen[v] = True
            out.append(v)
            stack.extend(w for w, _ in reversed(down[v]) if not seen[w])
    return out


# -- crossing minimisation -----------------------------------------------------------------

def _positions(layers: list[list[int]], total: int) -> list[float]:
    pos = [0.0] * total
    for members in layers:
        for i, v in enumerate(members):
            pos[v] = float(i)
    return pos


def count_crossings(h: Hierarchy, pos: list[float] | None = None) -> int:
    """Crossings between every pair of adjacent layers (ports count: a wire into the right
    input of a block crosses one into its left input coming from further right)."""
    pos = pos if pos is not None else _positions(h.layers, len(h.layer))
    total = 0
    for members in h.layers[:-1]:
        segs = sorted((pos[v], pos[w] + off) for v in members for w, off in h.down[v])
        lows = [b for _, b in segs]
        total += _inversions(lows, [a for a, _ in segs])
    return total


def _inversions(lows: list[float], highs: list[float]) -> int:
    # Pairs sorted by upper end whose lower ends are in the opposite order (equal upper ends
    # share a node: their wires leave one port and do not cross).
    count = 0
    for i in range(len(lows)):
        for j in range(i + 1, len(lows)):
            if lows[j] < lows[i] and highs[j] != highs[i]:
                count += 1
    return count


def order_layers(h: Hierarchy) -> int:
    """Reorder the layers in place: alternating median sweeps with adjacent transpositions,
    keeping the best ordering seen. Returns its number of crossings."""
    total = len(h.layer)
    best = [list(m) for m in h.layers]
    best_cross = count_crossings(h)
    stale = 0
    for sweep in range(SWEEPS):
        if best_cross == 0:
            break
        downward = sweep % 2 == 0
        rng = range(1, len(h.layers)) if downward else range(len(h.layers) - 2, -1, -1)
        for i in rng:
            pos = _positions(h.layers, total)
            h.layers[i] = _sorted_by_median(h, h.layers[i], pos, downward)
        _transpose(h)
        cross = count_crossings(h)
        if cross < best_cross:
            best, best_cross, stale = [list(m) for m in h.layers], cross, 0
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    h.layers[:] = best
    return best_cross


def _sorted_by_median(h: Hierarchy, members: list[int], pos: list[float],
                      downward: bool) -> list[int]:
    keys: dict[int, float] = {}
    for v in members:
        if downward:
            near = sorted(pos[u] for u in h.up[v])
        else:
            near = sorted(pos[w] + off for w, off in h.down[v])
        if near:
            m = len(near) // 2
            keys[v] = near[m] if len(near) % 2 else (near[m - 1] + near[m]) / 2
        else:
            keys[v] = pos[v]  # no neighbour on that side: keep its place
    return sorted(members, key=lambda v: (keys[v], pos[v]))


def _pair_crossings(h: Hierarchy, a: int, b: int, pos: list[float]) -> tuple[int, int]:
    """Crossings among the wires of a and b, above and below: with a placed left of b,
    and with b placed left of a (one pass over the pairs of wires gives both)."""
    ab = ba = 0
    ub = h.up[b]
    for u in h.up[a]:
        p = pos[u]
        for v in ub:
            q = pos[v]
            if p > q:
                ab += 1
            elif q > p:
                ba += 1
    db = h.down[b]
    for w, off in h.down[a]:
        p = pos[w] + off
        for x, off2 in db:
            q = pos[x] + off2
            if p > q:
                ab += 1
            elif q > p:
                ba += 1
    return ab, ba


def _transpose(h: Hierarchy) -> None:
    """Swap adjacent blocks while that removes crossings, in rounds over the layers (at
    most 8). A layer is looked at again only when it or a layer beside it changed since it
    was last looked at: nothing else could give it a different answer."""
    pos = _positions(h.layers, len(h.layer))
    stale = [True] * len(h.layers)  # changed since last looked at
    improved = True
    rounds = 0
    while improved and rounds < 8:
        improved = False
        rounds += 1
        for k, members in enumerate(h.layers):
            if not stale[k]:
                continue
            stale[k] = False
            for i in range(len(members) - 1):
                a, b = members[i], members[i + 1]
                kept, swapped = _pair_crossings(h, a, b, pos)
                if swapped < kept:
                    members[i], members[i + 1] = b, a
                    pos[a], pos[b] = pos[b], pos[a]
                    improved = True
                    for j in (k - 1, k, k + 1):
                        if 0 <= j < len(stale):
                            stale[j] = True
