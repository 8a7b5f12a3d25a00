"""Primitive reversible edits of a project, the bricks every undo command is built from.

Each op records one change precisely enough to make it and to take it back: ``apply`` and
``revert`` are each one call of a ``ProjectModel`` mutator, which makes the change, emits the
document's past-tense signal and marks the graph for re-analysis. An op therefore needs no
knowledge of the document; a new op only picks mutators. ``revert`` restores the previous
state exactly (the recorded list index or dict position), so undoing any sequence of ops gives
back the original project JSON byte for byte.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from app.document.model import EdgeEnd, EdgeKey, ProjectModel, edge_key
from engine.project import Edge, Graph, Node


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
    """One reversible change. Subclasses implement both directions with model mutators."""

    def apply(self, model: ProjectModel) -> None:
        raise NotImplementedError

    def revert(self, model: ProjectModel) -> None:
        raise NotImplementedError


@dataclass
class Inverse(Op):
    """The opposite of ``op``: removing is inserting, reverted."""

    op: Op

    def apply(self, model: ProjectModel) -> None:
        self.op.revert(model)

    def revert(self, model: ProjectModel) -> None:
        self.op.apply(model)


@dataclass
class InsertNode(Op):
    graph: str
    index: int
    node: Node

    def apply(self, model: ProjectModel) -> None:
        model.insert_node(self.graph, self.index, self.node)

    def revert(self, model: ProjectModel) -> None:
        model.remove_node(self.graph, self.index)


@dataclass
class InsertEdge(Op):
    graph: str
    index: int
    edge: Edge

    def apply(self, model: ProjectModel) -> None:
        model.insert_edge(self.graph, self.index, self.edge)

    def revert(self, model: ProjectModel) -> None:
        model.remove_edge(self.graph, self.index)


@dataclass
class SetNodeField(Op):
    """Replace a node's ``params`` or ``label``."""

    graph: str
    node_id: str
    name: str
    old: Any
    new: Any

    def apply(self, model: ProjectModel) -> None:
        model.set_node_field(self.graph, self.node_id, self.name, self.new)

    def revert(self, model: ProjectModel) -> None:
        model.set_node_field(self.graph, self.node_id, self.name, self.old)


@dataclass
class MoveNode(Op):
    graph: str
    node_id: str
    old: tuple[float, float]
    new: tuple[float, float]

    def apply(self, model: ProjectModel) -> None:
        model.move_node(self.graph, self.node_id, self.new)

    def revert(self, model: ProjectModel) -> None:
        model.move_node(self.graph, self.node_id, self.old)


@dataclass
class RenameNode(Op):
    """Change a node id and rewrite the ends of the edges that name it. The ends are
    recorded on the first apply, so undo and redo rewrite exactly the same ones."""

    graph: str
    old: str
    new: str
    ends: list[EdgeEnd] | None = None

    def apply(self, model: ProjectModel) -> None:
        self.ends = model.rename_node(self.graph, self.old, self.new, self.ends)

    def revert(self, model: ProjectModel) -> None:
        model.rename_node(self.graph, self.new, self.old, self.ends)


@dataclass
class SetSetting(Op):
    """Assign ``project.<section>.<name>`` (dataset, task or training)."""

    section: str
    name: str
    old: Any
    new: Any

    def apply(self, model: ProjectModel) -> None:
        model.set_setting(self.section, self.name, self.new)

    def revert(self, model: ProjectModel) -> None:
        model.set_setting(self.section, self.name, self.old)


@dataclass
class SetSweepField(Op):
    """Assign ``project.sweep.<name>`` (``ranges`` is replaced whole, so undo gives back
    its order too)."""

    name: str
    old: Any
    new: Any

    def apply(self, model: ProjectModel) -> None:
        model.set_sweep_field(self.name, self.new)

    def revert(self, model: ProjectModel) -> None:
        model.set_sweep_field(self.name, self.old)


@dataclass
class InsertGraph(Op):
    name: str
    index: int
    graph: Graph

    def apply(self, model: ProjectModel) -> None:
        model.insert_graph(self.name, self.index, self.graph)

    def revert(self, model: ProjectModel) -> None:
        model.remove_graph(self.name)


@dataclass
class RenameGraph(Op):
    old: str
    new: str

    def apply(self, model: ProjectModel) -> None:
        model.rename_graph(self.old, self.new)

    def revert(self, model: ProjectModel) -> None:
        model.rename_graph(self.new, self.old)


@dataclass
class SetGraphFlow(Op):
    """Change which way a graph reads (``Graph.flow``: "right" or "down")."""

    graph: str
    old: str
    new: str

    def apply(self, model: ProjectModel) -> None:
        model.set_graph_flow(self.graph, self.new)

    def revert(self, model: ProjectModel) -> None:
        model.set_graph_flow(self.graph, self.old)


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
