"""Structural checks on a graph: ids, block types, params, ports, edges, cycles, order.

Everything here is pure Python and fast: it runs after every edit in the editor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.blocks import get_block
from engine.blocks.base import Block
from engine.composite import GROUP, input_ids, port_problem
from engine.naming import id_problem
from engine.project import Graph


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a project, pinned to a graph and, where possible, a node."""

    graph: str
    node: str | None
    message: str
    severity: str = "error"  # "error" or "warning"
    #: an action that repairs it, named for the app to offer (e.g. "fit_model": Fit model
    #: to data); "" when the message itself says what to change
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.graph}/{self.node}" if self.node else self.graph
        return f"{where}: {self.message}"


@dataclass(slots=True)
class Structure:
    """The checked skeleton of a graph, ready for shape inference and compilation."""

    name: str
    order: list[str] = field(default_factory=list)  # topological; cycles and what they feed excluded
    blocks: dict[str, Block] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # resolved, valid nodes only
    ports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: for each node, the source node id of each input port, in port order (None: unconnected)
    sources: dict[str, list[str | None]] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # Input node ids in graph order
    outputs: list[str] = field(default_factory=list)  # Output node ids in graph order
    broken: set[str] = field(default_factory=set)  # nodes with their own structural errors
    live: set[str] = field(default_factory=set)  # nodes whose result reaches an Output
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def check_structure(graph: Graph, name: str = "model",
                    library: Mapping[str, Graph] | None = None) -> Structure:
    """The checked skeleton of ``graph``; ``library`` (the project's graphs) gives composite
    (Group) nodes their ports."""
    s = Structure(name)
    err = s.problems.append
    seen: set[str] = set()
    for node in graph.nodes:
        nid = node.id
        if nid in seen:
            err(Problem(name, nid, f"duplicate id {nid!r}: every block needs its own id"))
            s.broken.add(nid)
            continue
        seen.add(nid)
        why = id_problem(nid)
        if why:
            err(Problem(name, nid, why))
            s.broken.add(nid)
        block = get_block(node.type)
        if block is None:
            err(Problem(name, nid, f"unknown block type {node.type!r}"))
            s.broken.add(nid)
            continue
        s.blocks[nid] = block
        res = block.resolve(node.params)
        if res.errors:
            for e in res.errors:
                err(Problem(name, nid, e))
            s.broken.add(nid)
            continue
        s.params[nid] = res.values
        if node.type == GROUP:
            why = port_problem(library, res.values["graph"])
            if why:
                err(Problem(name, nid, why))
                s.broken.add(nid)
                continue
            ports = tuple(input_ids(library[res.values["graph"]]))  # type: ignore[index]
        else:
            ports = block.input_ports(res.values)
        s.ports[nid] = ports
        s.sources[nid] = [None] * len(ports)
        if node.type == "Input":
            s.inputs.append(nid)
        elif node.type == "Output":
            s.outputs.append(nid)

    succ: dict[str, list[str]] = {nid: [] for nid in s.blocks}
    # Every wire between existing nodes, valid or not: a block feeding a broken block is
    # not a dead end, it is waiting for that block to be fixed.
    links = [(e.src, e.dst) for e in graph.edges if e.src in seen and e.dst in seen]
    for e in graph.edges:
        if e.src not in s.blocks or e.dst not in s.blocks:
            missing = e.src if e.src not in seen else e.dst
            if missing not in seen:
                err(Problem(name, e.dst if e.dst in seen else None,
                            f"a connection refers to a block {missing!r} that does not exist"))
            continue
        if not s.blocks[e.src].has_output or e.src_port != "out":
            err(Problem(name, e.src, f"{e.src} has no output port {e.src_port!r}"))
            continue
        if e.dst not in s.ports:
            continue  # the destination has param errors already
        ports = s.ports[e.dst]
        if e.dst_port not in ports:
            have = ", ".join(ports) if ports else "none"
            err(Problem(name, e.dst, f"{e.dst} has no input port {e.dst_port!r} (ports: {have})"))
            continue
        i = ports.index(e.dst_port)
        if s.sources[e.dst][i] is not None:
            err(Problem(name, e.dst, f"input {e.dst_port} is connected twice: remove one connection"))
            continue
        s.sources[e.dst][i] = e.src
        succ[e.src].append(e.dst)

    for nid, srcs in s.sources.items():
        for port, src in zip(s.ports[nid], srcs, strict=True):
            if src is None:
                label = "its input" if len(srcs) == 1 else f"input {port}"
                err(Problem(name, nid, f"{label} is not connected"))

    _order(s, succ)
    if not s.inputs:
        err(Problem(name, None, "the graph has no Input block"))
    if not s.outputs:
        err(Problem(name, None, "the graph has no Output block"))
    _dead_ends(s, links)
    return s


def _order(s: Structure, succ: dict[str, list[str]]) -> None:
    """Kahn's algorithm in graph order. Nodes left over sit on a cycle or downstream of one;
    only those on a cycle are blamed (the others simply get no shape)."""
    indeg = {nid: 0 for nid in s.blocks}
    for targets in succ.values():
        for t in targets:
            indeg[t] += 1
    ready = [nid for nid in s.blocks if indeg[nid] == 0]
    ready.reverse()
    while ready:
        nid = ready.pop()
        s.order.append(nid)
        for t in reversed(succ[nid]):
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    if len(s.order) < len(s.blocks):
        placed = set(s.order)
        _blame_cycles(s, succ, [nid for nid in s.blocks if nid not in placed])


def _blame_cycles(s: Structure, succ: dict[str, list[str]], left: list[str]) -> None:
    """One problem per block on a cycle (a strongly connected component of several blocks,
    or a block wired to itself), naming the loop in order: "a -> b -> c -> a"."""
    rank = {nid: i for i, nid in enumerate(s.blocks)}
    for comp in strongly_connected(left, succ):
        if len(comp) == 1 and comp[0] not in succ[comp[0]]:
            continue  # fed by a cycle, not on one
        members = set(comp)
        for nid in sorted(comp, key=rank.__getitem__):
            loop = _shortest_loop(nid, succ, members)
            # start at the loop's first block in graph order, so every block of one simple
            # cycle shows the same sentence
            first = min(range(len(loop)), key=lambda i: rank[loop[i]])
            loop = loop[first:] + loop[:first]
            text = " -> ".join([*loop, loop[0]])
            s.problems.append(Problem(s.name, nid, f"is part of a cycle {text}: a network must "
                                      "flow one way from inputs to outputs; remove one of "
                                      "these connections"))
            s.broken.add(nid)


def strongly_connected(nodes: list[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of the subgraph on ``nodes`` (iterative, so a
    long chain cannot exhaust the recursion limit)."""
    inside = set(nodes)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            nid, it = work[-1]
            for t in it:
                if t not in inside:
                    continue
                if t not in index:
                    index[t] = low[t] = len(index)
                    stack.append(t)
                    on_stack.add(t)
                    work.append((t, iter(succ.get(t, ()))))
                    break
                if t in on_stack:
                    low[nid] = min(low[nid], index[t])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[nid])
                if low[nid] == index[nid]:
                    comp = []
                    while True:
                        t = stack.pop()
                        on_stack.discard(t)
                        comp.append(t)
                        if t == nid:
                            break
                    comps.append(comp)
    return comps


def _shortest_loop(start: str, succ: dict[str, list[str]], members: set[str]) -> list[str]:
    """The blocks of a shortest cycle through ``start`` inside ``members`` (breadth first)."""
    came: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for nid in frontier:
            for t in succ[nid]:
                if t == start:
                    path = [nid]
                    while path[-1] != start:
                        path.append(came[path[-1]])
                    return path[::-1]
                if t in members and t not in came:
                    came[t] = nid
                    nxt.append(t)
        frontier = nxt
    return [start]  # not reached: every member of a component lies on a cycle


def _dead_ends(s: Structure, links: list[tuple[str, str]]) -> None:
    """Warn about blocks whose result never reaches an Output."""
    pred: dict[str, list[str]] = {}
    for src, dst in links:
        pred.setdefault(dst, []).append(src)
    live = s.live
    live.update(s.outputs)
    stack = list(s.outputs)
    while stack:
        for p in pred.get(stack.pop(), ()):
            if p not in live:
                live.add(p)
                stack.append(p)
    if not s.outputs:
        return
    for nid in s.blocks:
        if nid not in live and nid not in s.broken:
            s.problems.append(Problem(s.name, nid, "its result does not reach any Output",
                                      severity="warning"))
