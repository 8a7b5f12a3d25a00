"""Cutting a network after a block and giving it a new classifier head: what "Cut Here"
and "Fit model to data" do to a backbone whose features are not the data's classes.
Torch-free, like the fit check that uses it."""

from __future__ import annotations

from engine.errors import UserError
from engine.naming import make_identifier
from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph


def source_of(graph: Graph, node_id: str) -> str | None:
    """The block feeding ``node_id``'s (first) input."""
    for e in graph.edges:
        if e.dst == node_id:
            return e.src
    return None


def shape_text(shape: tuple | list) -> str:
    return "[N, " + ", ".join("T" if d in (None, -1) else str(d) for d in shape) + "]"


class CutError(UserError):
    """The graph cannot be cut there; the message names the block."""


def _step(graph: Graph) -> tuple[float, float]:
    """One block further along the graph's flow (room for a block between two)."""
    return (0.0, 127.0) if graph.flow == "down" else (230.0, 0.0)


def _reach(graph: Graph, node_id: str, forward: bool) -> set[str]:
    """The blocks reachable from ``node_id`` along the wires (``forward``) or against them;
    backwards the block itself is included."""
    out: set[str] = set() if forward else {node_id}
    todo = [node_id]
    while todo:
        cur = todo.pop()
        for e in graph.edges:
            here, there = (e.src, e.dst) if forward else (e.dst, e.src)
            if here == cur and there not in out:
                out.add(there)
                todo.append(there)
    return out


def cut_graph(graph: Graph, node_id: str) -> Graph:
    """A copy of ``graph`` cut after ``node_id``: everything downstream of it is removed,
    and so is whatever fed only that part; the (first) Output is fed from ``node_id``
    instead (one is added when the graph had none). Input blocks all stay: they are a
    composite's ports. Used by "Cut here" on a backbone or the model graph, before Fit
    model to data gives it a new head."""
    node = graph.node(node_id)
    if node is None:
        raise CutError(f"cannot cut at {node_id!r}: the graph has no such block")
    if node.type == "Output":
        return graph.model_copy(deep=True)
    cut = graph.model_copy(deep=True)
    below = _reach(graph, node_id, forward=True)
    outputs = [n for n in graph.nodes if n.type == "Output"]
    keep_out = next((o for o in outputs if o.id in below), None)
    if keep_out is None and not outputs:
        taken = {n.id for n in graph.nodes}
        dx, dy = _step(graph)
        keep_out = Node(id=make_identifier("output", taken), type="Output",
                        position=(node.position[0] + dx, node.position[1] + dy))
        cut.nodes.append(keep_out)
    elif keep_out is None:
        keep_out = outputs[0]
    feeds = _reach(graph, node_id, forward=False)
    other_outputs = [o.id for o in outputs if o.id not in below and o.id != keep_out.id]
    for o in other_outputs:
        feeds |= _reach(graph, o, forward=False)
    keep = {n.id for n in cut.nodes if n.id in feeds or n.type == "Input"} | {keep_out.id}
    cut.nodes = [n for n in cut.nodes if n.id in keep]
    cut.edges = [e for e in cut.edges if e.src in keep and e.dst in keep
                 and e.dst != keep_out.id]
    cut.edges.append(Edge(src=node_id, dst=keep_out.id))
    out = cut.node(keep_out.id)
    assert out is not None
    if keep_out.id in below:  # the Output moves next to the block that now feeds it
        dx, dy = _step(graph)
        out.position = (node.position[0] + dx, node.position[1] + dy)
    return cut


def add_head(graph: Graph, gname: str, classes: int,
             library: dict[str, Graph] | None = None) -> list[str]:
    """Give ``graph`` a classifier head in place when its Output gives features rather than
    ``classes`` scores: a Linear(``classes``) before the Output, after a GlobalAvgPool for
    an image [C, H, W] (a Flatten for other shapes). One sentence per change."""
    outs = [n for n in graph.nodes if n.type == "Output"]
    src = source_of(graph, outs[0].id) if outs else None
    if src is None:
        return []
    a = analyze_graph(graph, gname, library)
    spec = a.nodes[src].out if src in a.nodes else None
    if spec is None or (len(spec.shape) == 1 and spec.shape[0] == classes):
        return []
    out = outs[0]
    taken = {n.id for n in graph.nodes}
    chain: list[Node] = []
    if len(spec.shape) == 3:
        chain.append(Node(id=make_identifier("pool", taken), type="GlobalAvgPool"))
    elif len(spec.shape) != 1:
        chain.append(Node(id=make_identifier("flatten", taken), type="Flatten"))
    taken |= {n.id for n in chain}
    chain.append(Node(id=make_identifier("head", taken), type="Linear",
                      params={"out_features": classes}))
    dx, dy = _step(graph)
    x, y = out.position
    for node in chain:
        node.position = (x, y)
        x, y = x + dx, y + dy
    out.position = (x, y)
    graph.edges = [e for e in graph.edges if e.dst != out.id]
    prev = src
    for node in chain:
        graph.nodes.insert(graph.nodes.index(out), node)
        graph.edges.append(Edge(src=prev, dst=node.id))
        prev = node.id
    graph.edges.append(Edge(src=prev, dst=out.id))
    added = " and ".join(f"{n.type} {n.id!r}" for n in chain)
    return [f"{gname}: added {added} with {classes} outputs before {out.id!r} (the features "
            f"were {shape_text(spec.shape)})"]


def image_into_head(graph: Graph, head: str, analysis) -> bool:
    """Whether the head Linear gets an image [C, H, W] (a backbone cut before its pooling)."""
    src = source_of(graph, head)
    info = analysis.nodes.get(src) if src else None
    return info is not None and info.out is not None and len(info.out.shape) == 3


def pool_before_head(graph: Graph, gname: str, head: str,
                     library: dict[str, Graph] | None = None) -> list[str]:
    """A GlobalAvgPool between the head Linear and what feeds it, in place, when that is an
    image (e.g. after "Cut Here" inside the backbone). One sentence per change."""
    a = analyze_graph(graph, gname, library)
    if not image_into_head(graph, head, a):
        return []
    src = source_of(graph, head)
    node = graph.node(head)
    assert src is not None and node is not None
    pool = Node(id=make_identifier("pool", {n.id for n in graph.nodes}), type="GlobalAvgPool",
                position=node.position)
    dx, dy = _step(graph)
    moved = _reach(graph, head, forward=True) | {head}
    for n in graph.nodes:  # make room: the head and what follows move one step on
        if n.id in moved:
            n.position = (n.position[0] + dx, n.position[1] + dy)
    graph.nodes.insert(graph.nodes.index(node), pool)
    graph.edges = [e for e in graph.edges if not (e.dst == head and e.src == src)]
    graph.edges += [Edge(src=src, dst=pool.id), Edge(src=pool.id, dst=head)]
    shape = a.nodes[src].out.shape  # type: ignore[union-attr]
    return [f"{gname}: added GlobalAvgPool {pool.id!r} before {head!r} (it got the image "
            f"{shape_text(shape)})"]
