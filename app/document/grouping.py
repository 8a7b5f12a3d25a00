"""The edits behind composite blocks (decision 0001), as lists of primitive ops.

Each function reads the project as it is and returns the ops of one undo step, built only
from the ops in ``ops.py`` (so undo gives back the project JSON byte for byte), or raises
``GroupError`` with the sentence the user sees. Plain functions: no Qt, no undo stack; the
document (``composites.py``) checks its arguments and pushes the command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from app.document.errors import GroupError
from app.document.model import edge_key, users_closure
from app.document.ops import (
    InsertEdge,
    InsertGraph,
    InsertNode,
    Inverse,
    MoveNode,
    Op,
    SetGraphFlow,
    SetNodeField,
    SetSetting,
    remove_ops,
)
from engine import composite
from engine.blocks import get_block
from engine.layout.geometry import WIDTH
from engine.naming import make_identifier
from engine.project import Edge, Graph, Node, Project
from engine.shapes import GraphAnalysis

GROUP = composite.GROUP
IO = ("Input", "Output")
GAP = 70.0  # between a new Input/Output block and the block it feeds or reads


def has_output(node: Node) -> bool:
    block = get_block(node.type)
    return True if block is None else block.has_output


def _beside(node: Node | None, flow: str, before: bool, shift: float = 0.0) -> tuple[float, float]:
    """A spot just before (an Input) or after (an Output) ``node`` along the flow."""
    x, y = node.position if node is not None else (0.0, 0.0)
    if flow == "down":
        step = 120.0 + GAP
        return (float(x + shift), float(y - step if before else y + step))
    step = WIDTH + GAP
    return (float(x - step if before else x + step), float(y + shift))


def input_params(analysis: GraphAnalysis | None, src: str) -> dict[str, Any]:
    """Input block parameters that reproduce what ``src`` gives (so a composite analyses on
    its own); the Input defaults when that is not known."""
    info = analysis.nodes.get(src) if analysis is not None else None
    spec = info.out if info is not None else None
    if spec is None:
        block = get_block("Input")
        return {p.name: p.default for p in block.params} if block is not None else {}
    return {"shape": [-1 if d is None else int(d) for d in spec.shape],
            "dtype": spec.dtype if spec.dtype in ("float", "long") else "float",
            "vocab": int(spec.vocab or 0)}


# -- group -------------------------------------------------------------------------------
def group_ops(project: Project, graph: str, node_ids: Iterable[str], text: str,
              analysis: GraphAnalysis | None) -> tuple[list[Op], str, str]:
    """Replace the selected blocks by one Group node using a new composite graph.
    Returns the ops, the composite's name and the Group node's id."""
    g = project.graphs[graph]
    wanted = set(node_ids)
    chosen = [n for n in g.nodes if n.id in wanted]
    if not chosen:
        raise GroupError("Select the blocks to group first.")
    for n in chosen:
        if n.type in IO:
            raise GroupError(f"{n.id} is an {n.type} block: a composite block gets its own "
                             f"Input and Output, so leave {n.id} out of the selection.")
    sel = {n.id for n in chosen}
    inner = [e for e in g.edges if e.src in sel and e.dst in sel]
    into = [e for e in g.edges if e.dst in sel and e.src not in sel]
    out_of = [e for e in g.edges if e.src in sel and e.dst not in sel]
    out_sources = list(dict.fromkeys((e.src, e.src_port) for e in out_of))
    if len(out_sources) > 1:
        names = " and ".join(s for s, _ in out_sources[:2])
        raise GroupError(f"The selection feeds the rest of {graph} from {names}: a composite "
                         "block has one output, so select blocks whose result leaves from one "
                         "block.")
    if not out_sources:
        sinks = [n.id for n in chosen if has_output(n) and not any(e.src == n.id for e in inner)]
        if len(sinks) != 1:
            raise GroupError("The selection has no single last block to be the composite's "
                             "output: select blocks that end in one block.")
        out_sources = [(sinks[0], "out")]
    name = make_identifier(text or "block", set(project.graphs), fallback="block")
    # One Input per distinct outside source, named x when there is one, else after it.
    sources = list(dict.fromkeys((e.src, e.src_port) for e in into))
    taken = set(sel)
    port_of: dict[tuple[str, str], str] = {}
    for src in sources:
        port_of[src] = make_identifier("x" if len(sources) == 1 else src[0], taken, fallback="x")
        taken.add(port_of[src])
    out_id = make_identifier("out", taken, fallback="out")
    nodes: list[Node] = []
    for k, src in enumerate(sources):
        first = next(e.dst for e in into if (e.src, e.src_port) == src)
        nodes.append(Node(id=port_of[src], type="Input", params=input_params(analysis, src[0]),
                          position=_beside(g.node(first), g.flow, True, 30.0 * k)))
    nodes += [n.model_copy(deep=True) for n in chosen]
    nodes.append(Node(id=out_id, type="Output",
                      position=_beside(g.node(out_sources[0][0]), g.flow, False)))
    edges = [Edge(src=port_of[(e.src, e.src_port)], dst=e.dst, dst_port=e.dst_port) for e in into]
    edges += [e.model_copy() for e in inner]
    edges.append(Edge(src=out_sources[0][0], src_port=out_sources[0][1], dst=out_id))
    definition = Graph(flow=g.flow, nodes=nodes, edges=edges)

    gid = make_identifier(name, {n.id for n in g.nodes} - sel, fallback="block")
    # where the first of the blocks was: the place the selection frees (its centre may sit on
    # a block that stays)
    x, y = chosen[0].position
    group = Node(id=gid, type=GROUP, params={"graph": name}, position=(float(x), float(y)))
    first_index = min(i for i, n in enumerate(g.nodes) if n.id in sel)
    kept_edges = sum(1 for e in g.edges if e.src not in sel and e.dst not in sel)
    ops: list[Op] = [InsertGraph(name, len(project.graphs), definition)]
    ops += remove_ops(graph, g, sel, set())
    ops.append(InsertNode(graph, first_index, group))
    wires = [Edge(src=s, src_port=p, dst=gid, dst_port=port_of[(s, p)]) for s, p in sources]
    wires += [Edge(src=gid, dst=e.dst, dst_port=e.dst_port) for e in out_of]
    ops += [InsertEdge(graph, kept_edges + k, w) for k, w in enumerate(wires)]
    return ops, name, gid


# -- ungroup -----------------------------------------------------------------------------
def group_node(project: Project, graph: str, node_id: str) -> tuple[Node, str, Graph]:
    """The Group node ``node_id``, the name of the composite it uses and that graph."""
    node = project.graphs[graph].node(node_id)
    if node is None or node.type != GROUP:
        raise GroupError(f"{node_id} is not a composite block: select a Group block.")
    ref = node.params.get("graph")
    d = project.graphs.get(ref) if isinstance(ref, str) else None
    if d is None or ref == graph:
        raise GroupError(f"{node_id} uses the graph {ref!r}, which this project does not "
                         "have: set its graph parameter to one of the project's graphs.")
    return node, ref, d  # type: ignore[return-value]


def uses(project: Project) -> dict[str, list[tuple[str, str]]]:
    """Composite name -> [(parent graph, Group node id)] for every use in the project."""
    return composite.uses(project.graphs)


def ungroup_ops(project: Project, graph: str, node_id: str) -> tuple[list[Op], list[str]]:
    """Put a Group node's blocks back in its place with fresh ids; the composite's graph
    goes too when nothing else uses it. Returns the ops and the inlined ids."""
    node, ref, d = group_node(project, graph, node_id)
    g = project.graphs[graph]
    inputs = {n.id for n in d.nodes if n.type == "Input"}
    outputs = [n.id for n in d.nodes if n.type == "Output"]
    inner = [n for n in d.nodes if n.type not in IO]
    taken = {n.id for n in g.nodes} - {node_id}
    fresh: dict[str, str] = {}
    for n in inner:
        fresh[n.id] = make_identifier(n.id, taken)
        taken.add(fresh[n.id])
    cx, cy = inner[0].position if inner else node.position  # where grouping put the node
    dx, dy = node.position[0] - cx, node.position[1] - cy
    copies = [n.model_copy(deep=True, update={
        "id": fresh[n.id], "position": (n.position[0] + dx, n.position[1] + dy)}) for n in inner]
    feed = {e.dst_port: (e.src, e.src_port) for e in g.edges if e.dst == node_id}
    out_src: tuple[str, str] | None = None
    wires: list[Edge] = []
    for e in d.edges:
        if e.src in inputs:
            src = feed.get(e.src)
        elif e.src in fresh:
            src = (fresh[e.src], e.src_port)
        else:
            src = None
        if src is None:
            continue
        if outputs and e.dst == outputs[0]:
            out_src = src
        elif e.dst in fresh:
            wires.append(Edge(src=src[0], src_port=src[1], dst=fresh[e.dst], dst_port=e.dst_port))
    if out_src is not None:
        wires += [Edge(src=out_src[0], src_port=out_src[1], dst=e.dst, dst_port=e.dst_port)
                  for e in g.edges if e.src == node_id]
    index = next(i for i, n in enumerate(g.nodes) if n.id == node_id)
    kept_edges = sum(1 for e in g.edges if node_id not in (e.src, e.dst))
    ops = remove_ops(graph, g, {node_id}, set())
    ops += [InsertNode(graph, index + k, n) for k, n in enumerate(copies)]
    ops += [InsertEdge(graph, kept_edges + k, w) for k, w in enumerate(wires)]
    if uses(project).get(ref) == [(graph, node_id)]:
        at = list(project.graphs).index(ref)
        ops.append(Inverse(InsertGraph(ref, at, d.model_copy(deep=True))))
    return ops, [n.id for n in copies]


# -- uses of an existing composite ----------------------------------------------------------
def use_problem(project: Project, parent: str, ref: str) -> str | None:
    """Why a Group node using ``ref`` cannot go into ``parent``, or None."""
    if ref not in project.graphs:
        return f"there is no graph named {ref!r} to use as a block"
    if ref in users_closure(project.graphs, {parent}):
        return f"{ref} uses {parent} (or is it): a graph cannot contain itself"
    return None


def insert_problem(project: Project, parent: str, graph: Graph) -> str | None:
    """Why ``graph`` cannot be added as a composite used in ``parent`` (it would contain
    ``parent``), or None."""
    inside = {ref for n in graph.nodes
              if (ref := composite.group_target(n.type, n.params)) is not None}
    loops = inside & users_closure(project.graphs, {parent})
    if loops:
        return (f"it uses {sorted(loops)[0]}, which contains {parent}: a graph cannot "
                "contain itself")
    return None


def new_group_node(project: Project, parent: str, ref: str, position: tuple[float, float],
                   node_id: str | None = None) -> Node:
    taken = {n.id for n in project.graphs[parent].nodes}
    return Node(id=make_identifier(node_id or ref, taken, fallback="block"), type=GROUP,
                params={"graph": ref}, position=(float(position[0]), float(position[1])))


def rename_ref_ops(project: Project, old: str, new: str) -> list[Op]:
    """Point every Group node that uses graph ``old`` at ``new``."""
    ops: list[Op] = []
    for parent, nid in uses(project).get(old, []):
        n = project.graphs[parent].node(nid)
        assert n is not None
        where = new if parent == old else parent  # (a file may hold a graph using itself)
        ops.append(SetNodeField(where, nid, "params", dict(n.params), {**n.params, "graph": new}))
    return ops


# -- cut ---------------------------------------------------------------------------------
def diff_ops(name: str, old: Graph, new: Graph) -> list[Op]:
    """Ops that turn graph ``old`` into ``new``: removals (recorded indices), then changed
    fields of the blocks both hold, then the new blocks and wires at the end."""
    new_ids = {n.id for n in new.nodes}
    new_keys = {edge_key(e) for e in new.edges}
    gone_nodes = {n.id for n in old.nodes if n.id not in new_ids}
    gone_edges = {edge_key(e) for e in old.edges if edge_key(e) not in new_keys}
    ops: list[Op] = remove_ops(name, old, gone_nodes, gone_edges)  # type: ignore[arg-type]
    if new.flow != old.flow:
        ops.append(SetGraphFlow(name, old.flow, new.flow))
    old_nodes = {n.id: n for n in old.nodes}
    kept_nodes = sum(1 for n in old.nodes if n.id not in gone_nodes)
    added = 0
    for n in new.nodes:
        was = old_nodes.get(n.id)
        if was is None:
            ops.append(InsertNode(name, kept_nodes + added, n.model_copy(deep=True)))
            added += 1
            continue
        if tuple(was.position) != tuple(n.position):
            ops.append(MoveNode(name, n.id, tuple(was.position), tuple(n.position)))  # type: ignore[arg-type]
        for f in ("params", "label", "trainable", "lr_mult"):
            if getattr(was, f) != getattr(n, f):
                ops.append(SetNodeField(name, n.id, f, getattr(was, f), getattr(n, f)))
    old_keys = {edge_key(e) for e in old.edges if edge_key(e) not in gone_edges
                and e.src not in gone_nodes and e.dst not in gone_nodes}
    kept_edges = sum(1 for e in old.edges if edge_key(e) not in gone_edges
                     and e.src not in gone_nodes and e.dst not in gone_nodes)
    for e in new.edges:
        if edge_key(e) not in old_keys:
            ops.append(InsertEdge(name, kept_edges, e.model_copy()))
            kept_edges += 1
    return ops


def dataset_ops(project: Project, fields: Mapping[str, Any]) -> list[Op]:
    """Set dataset fields (a pretrained backbone's image size, mean, std), validated."""
    ds = project.dataset
    unknown = [k for k in fields if k not in type(ds).model_fields]
    if unknown:
        raise GroupError(f"the dataset has no field {unknown[0]!r}")
    try:
        checked = type(ds).model_validate({**ds.model_dump(), **fields})
    except ValidationError as e:
        raise GroupError(f"dataset: {e.errors()[0]['msg']}") from None
    return [SetSetting("dataset", k, getattr(ds, k), getattr(checked, k))
            for k in fields if getattr(ds, k) != getattr(checked, k)]
