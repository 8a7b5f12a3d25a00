"""Primitive reversible edits of a project, the bricks every undo command is built from.

Each op changes one thing, remembers exactly where (list index, dict position), emits the
document's past-tense signal, and marks the graph it touched for re-analysis. ``revert``
restores the previous state exactly, so undoing any sequence of ops gives back the original
project JSON byte for byte.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.project import Edge, Graph, Node

if TYPE_CHECKING:
    from app.document.document import GraphDocument

EdgeKey = tuple[str, str, str, str]  # (src, src_port, dst, dst_port)


def edge_key(edge: Edge) -> EdgeKey:
    return (edge.src, edge.src_port, edge.dst, edge.dst_port)


def node_index(graph: Graph, node_id: str) -> int:
    for i, n in enumerate(graph.nodes):
        if n.id == node_id:
            return i
    raise KeyError(node_id)


def plain_value(value: Any) -> Any:
    """JSON-shaped copy of a parameter value (tuples become lists, as in the file)."""
    if isinstance(value, tuple | list):
        return [plain_value(v) for v in value]
    return copy.deepcopy(value)


def reaches(graph: Graph, start: str, goal: str) -> bool:
    """Whether a path of edges leads from ``start`` to ``goal`` (a new goal -> start wire
    would then close a cycle)."""
    succ: dict[str, list[str]] = {}
    for e in graph.edges:
        succ.setdefault(e.src, []).append(e.dst)
    seen, stack = {start}, [start]
    while stack:
        for nxt in succ.get(stack.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


class Op:
    """One reversible change. Subclasses implement both directions."""

    def apply(self, doc: GraphDocument) -> None:
        raise NotImplementedError

    def revert(self, doc: GraphDocument) -> None:
        raise NotImplementedError


@dataclass
class Inverse(Op):
    """The opposite of ``op``: removing is inserting, reverted."""

    op: Op

    def apply(self, doc: GraphDocument) -> None:
        self.op.revert(doc)

    def revert(self, doc: GraphDocument) -> None:
        self.op.apply(doc)


@dataclass
class InsertNode(Op):
    graph: str
    index: int
    node: Node

    def apply(self, doc: GraphDocument) -> None:
        g = doc.project.graphs[self.graph]
        # A private copy: the op's node must survive later edits of the live one unchanged.
        g.nodes.insert(self.index, self.node.model_copy(deep=True))
        doc._touch(self.graph)
        doc.node_added.emit(self.graph, self.node.id)

    def revert(self, doc: GraphDocument) -> None:
        g = doc.project.graphs[self.graph]
        gone = g.nodes.pop(self.index)
        doc._touch(self.graph)
        doc.node_removed.emit(self.graph, gone.id)


@dataclass
class InsertEdge(Op):
    graph: str
    index: int
    edge: Edge

    def apply(self, doc: GraphDocument) -> None:
        g = doc.project.graphs[self.graph]
        g.edges.insert(self.index, self.edge.model_copy())
        doc._touch(self.graph)
        doc.edge_added.emit(self.graph, edge_key(self.edge))

    def revert(self, doc: GraphDocument) -> None:
        g = doc.project.graphs[self.graph]
        gone = g.edges.pop(self.index)
        doc._touch(self.graph)
        doc.edge_removed.emit(self.graph, edge_key(gone))


@dataclass
class SetNodeField(Op):
    """Replace a node's ``params``, ``label`` or ``position``."""

    graph: str
    node_id: str
    name: str
    old: Any
    new: Any

    def _set(self, doc: GraphDocument, value: Any) -> None:
        g = doc.project.graphs[self.graph]
        node = g.nodes[node_index(g, self.node_id)]
        setattr(node, self.name, copy.deepcopy(value))
        if self.name == "position":
            doc.node_moved.emit(self.graph, self.node_id)
        else:
            doc._touch(self.graph)
            doc.node_changed.emit(self.graph, self.node_id)

    def apply(self, doc: GraphDocument) -> None:
        self._set(doc, self.new)

    def revert(self, doc: GraphDocument) -> None:
        self._set(doc, self.old)


@dataclass
class RenameNode(Op):
    """Change a node id and rewrite the ends of the edges (by index) that name it."""

    graph: str
    old: str
    new: str
    ends: list[tuple[int, str]] = field(default_factory=list)  # (edge index, "src" | "dst")

    def _rename(self, doc: GraphDocument, frm: str, to: str) -> None:
        g = doc.project.graphs[self.graph]
        touched = sorted({i for i, _ in self.ends})
        for i in touched:
            doc.edge_removed.emit(self.graph, edge_key(g.edges[i]))
        g.nodes[node_index(g, frm)].id = to
        for i, end in self.ends:
            setattr(g.edges[i], end, to)
        doc._touch(self.graph)
        doc.node_renamed.emit(self.graph, frm, to)
        for i in touched:
            doc.edge_added.emit(self.graph, edge_key(g.edges[i]))

    def apply(self, doc: GraphDocument) -> None:
        self._rename(doc, self.old, self.new)

    def revert(self, doc: GraphDocument) -> None:
        self._rename(doc, self.new, self.old)


@dataclass
class SetSetting(Op):
    """Assign ``project.<section>.<name>`` (dataset, task or training)."""

    section: str
    name: str
    old: Any
    new: Any

    def _set(self, doc: GraphDocument, value: Any) -> None:
        setattr(getattr(doc.project, self.section), self.name, copy.deepcopy(value))
        doc.settings_changed.emit(self.section, self.name)

    def apply(self, doc: GraphDocument) -> None:
        self._set(doc, self.new)

    def revert(self, doc: GraphDocument) -> None:
        self._set(doc, self.old)


def _reorder(graphs: dict[str, Graph], items: list[tuple[str, Graph]]) -> None:
    # In place, so pydantic does not re-validate (and copy) every graph on assignment.
    graphs.clear()
    graphs.update(items)


@dataclass
class InsertGraph(Op):
    name: str
    index: int
    graph: Graph

    def apply(self, doc: GraphDocument) -> None:
        graphs = doc.project.graphs
        items = list(graphs.items())
        items.insert(self.index, (self.name, self.graph.model_copy(deep=True)))
        _reorder(graphs, items)
        doc._touch(self.name)
        doc.graph_added.emit(self.name)

    def revert(self, doc: GraphDocument) -> None:
        graphs = doc.project.graphs
        del graphs[self.name]
        doc._forget(self.name)
        doc.graph_removed.emit(self.name)


@dataclass
class RenameGraph(Op):
    old: str
    new: str

    def _rename(self, doc: GraphDocument, frm: str, to: str) -> None:
        graphs = doc.project.graphs
        _reorder(graphs, [(to if k == frm else k, g) for k, g in graphs.items()])
        doc._rename_analysis(frm, to)
        doc.graph_renamed.emit(frm, to)

    def apply(self, doc: GraphDocument) -> None:
        self._rename(doc, self.old, self.new)

    def revert(self, doc: GraphDocument) -> None:
        self._rename(doc, self.new, self.old)


def remove_ops(graph_name: str, graph: Graph, node_ids: set[str], edges: set[EdgeKey]) -> list[Op]:
    """Ops that remove the nodes (with every edge touching them) and the given edges.

    Edges go first, highest index first, then nodes the same way, so each recorded index is
    the one the item had at that moment and reverting re-inserts everything where it was.
    """
    ops: list[Op] = []
    for i in range(len(graph.edges) - 1, -1, -1):
        e = graph.edges[i]
        if e.src in node_ids or e.dst in node_ids or edge_key(e) in edges:
            ops.append(Inverse(InsertEdge(graph_name, i, e.model_copy())))
    for i in range(len(graph.nodes) - 1, -1, -1):
        n = graph.nodes[i]
        if n.id in node_ids:
            ops.append(Inverse(InsertNode(graph_name, i, n.model_copy(deep=True))))
    return ops
