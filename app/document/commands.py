"""Undo commands: each is a named list of primitive ops (see ops.py) applied in one step.

A command knows only the ``ProjectModel``: its ops call the model's mutators, which emit the
document's signals, and the whole command runs in one ``batch()``, so the touched graphs are
re-analysed once, after its last op. It never talks to the canvas or panels.
Field edits (a parameter, a label, a project setting) merge with the command before them
when they edit the same field, so typing into one field is one undo step.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from app.document import sweep_keys
from app.document.model import EdgeKey, ProjectModel
from app.document.ops import (
    InsertEdge,
    InsertGraph,
    InsertNode,
    Inverse,
    MoveNode,
    Op,
    RenameGraph,
    RenameNode,
    SetNodeField,
    SetSetting,
    SetSweepField,
    remove_ops,
)
from engine.project import Edge, Graph, Node


class OpsCommand(QUndoCommand):
    """A command made of ops: redo applies them in order, undo reverts them in reverse.

    The sweep's block ranges follow the command: on its first redo, a range whose block the
    ops renamed (or whose graph they renamed) gets the new key, and a range whose block they
    removed goes, by one more op in the same step (``sweep_keys.follow``)."""

    def __init__(self, model: ProjectModel, text: str, ops: list[Op]) -> None:
        super().__init__(text)
        self.model = model
        self.ops = ops
        self._followed = False

    def redo(self) -> None:
        with self.model.batch():
            project = self.model.project
            before = None if self._followed or not project.sweep.ranges else \
                sweep_keys.live_targets(project)
            for op in self.ops:
                op.apply(self.model)
            if not self._followed:
                self._followed = True
                self._follow_ranges(before)

    def _follow_ranges(self, before: dict[str, sweep_keys.BlockTarget] | None) -> None:
        if not before:
            return
        renames = [(op.graph, op.old, op.new) if isinstance(op, RenameNode)
                   else ("", op.old, op.new) for op in self.ops
                   if isinstance(op, RenameNode | RenameGraph)]
        project = self.model.project
        ranges = sweep_keys.follow(project, before, renames)
        if ranges is not None:
            op = SetSweepField("ranges", copy.deepcopy(project.sweep.ranges), ranges)
            op.apply(self.model)
            self.ops.append(op)

    def undo(self) -> None:
        with self.model.batch():
            for op in reversed(self.ops):
                op.revert(self.model)


class AddNodeCommand(OpsCommand):
    def __init__(self, model: ProjectModel, graph: str, node: Node) -> None:
        index = len(model.project.graphs[graph].nodes)
        super().__init__(model, f"Add {node.id}", [InsertNode(graph, index, node)])


class RemoveItemsCommand(OpsCommand):
    """Remove nodes with all their edges, plus loose edges, in one step."""

    def __init__(self, model: ProjectModel, graph: str, node_ids: set[str],
                 edges: set[EdgeKey]) -> None:
        ops = remove_ops(graph, model.project.graphs[graph], node_ids, edges)
        what = ", ".join(sorted(node_ids)) if node_ids else f"{len(edges)} connection(s)"
        super().__init__(model, f"Remove {what}", ops)


class MoveNodesCommand(OpsCommand):
    def __init__(self, model: ProjectModel, graph: str,
                 moves: dict[str, tuple[tuple[float, float], tuple[float, float]]],
                 text: str = "") -> None:
        ops: list[Op] = [MoveNode(graph, nid, old, new) for nid, (old, new) in moves.items()]
        super().__init__(model, text or f"Move {len(ops)} block(s)", ops)


class ConnectCommand(OpsCommand):
    def __init__(self, model: ProjectModel, graph: str, edge: Edge) -> None:
        index = len(model.project.graphs[graph].edges)
        super().__init__(model, f"Connect {edge.src} to {edge.dst}.{edge.dst_port}",
                         [InsertEdge(graph, index, edge)])


class ReconnectCommand(OpsCommand):
    """Replace the wire into one input with another in one step: the new wire takes the old
    one's place in the edge list, so undo gives back the old wire exactly."""

    def __init__(self, model: ProjectModel, graph: str, index: int, edge: Edge) -> None:
        old = model.project.graphs[graph].edges[index].model_copy()
        super().__init__(model, f"Connect {edge.src} to {edge.dst}.{edge.dst_port} "
                                f"instead of {old.src}",
                         [Inverse(InsertEdge(graph, index, old)), InsertEdge(graph, index, edge)])


class RenameNodeCommand(OpsCommand):
    def __init__(self, model: ProjectModel, graph: str, old: str, new: str) -> None:
        super().__init__(model, f"Rename {old} to {new}", [RenameNode(graph, old, new)])


class PasteCommand(OpsCommand):
    def __init__(self, model: ProjectModel, graph: str, nodes: list[Node], edges: list[Edge],
                 text: str = "Paste") -> None:
        g = model.project.graphs[graph]
        ops: list[Op] = [InsertNode(graph, len(g.nodes) + k, n) for k, n in enumerate(nodes)]
        ops += [InsertEdge(graph, len(g.edges) + k, e) for k, e in enumerate(edges)]
        super().__init__(model, f"{text} {len(nodes)} block(s)", ops)


class AddGraphCommand(OpsCommand):
    def __init__(self, model: ProjectModel, name: str, graph: Graph) -> None:
        index = len(model.project.graphs)
        super().__init__(model, f"Add graph {name}", [InsertGraph(name, index, graph)])


class RemoveGraphCommand(OpsCommand):
    def __init__(self, model: ProjectModel, name: str) -> None:
        index = list(model.project.graphs).index(name)
        graph = model.project.graphs[name].model_copy(deep=True)
        super().__init__(model, f"Remove graph {name}", [Inverse(InsertGraph(name, index, graph))])


class RenameGraphCommand(OpsCommand):
    def __init__(self, model: ProjectModel, old: str, new: str) -> None:
        super().__init__(model, f"Rename graph {old} to {new}", [RenameGraph(old, new)])


class _FieldCommand(OpsCommand):
    """One assignment that absorbs the next assignment to the same field."""

    MERGE_ID = -1

    def __init__(self, model: ProjectModel, text: str,
                 op: SetNodeField | SetSetting | SetSweepField, key: tuple[Any, ...]) -> None:
        super().__init__(model, text, [op])
        self.op = op
        self.key = key

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, type(self)) or other.key != self.key:
            return False
        self.op.new = other.op.new
        # Typing a value back to where it started leaves nothing to undo.
        self.setObsolete(self.op.new == self.op.old)
        return True


class SetParamCommand(_FieldCommand):
    MERGE_ID = 101

    def __init__(self, model: ProjectModel, graph: str, node: Node, name: str, value: Any) -> None:
        op = SetNodeField(graph, node.id, "params", copy.deepcopy(node.params),
                          {**copy.deepcopy(node.params), name: value})
        super().__init__(model, f"Set {node.id}.{name}", op, (graph, node.id, name))


class SetLabelCommand(_FieldCommand):
    MERGE_ID = 102

    def __init__(self, model: ProjectModel, graph: str, node: Node, label: str) -> None:
        op = SetNodeField(graph, node.id, "label", node.label, label)
        super().__init__(model, f"Label {node.id}", op, (graph, node.id))


class SetFieldCommand(_FieldCommand):
    MERGE_ID = 103

    def __init__(self, model: ProjectModel, section: str, name: str, old: Any, new: Any) -> None:
        op = SetSetting(section, name, old, new)
        super().__init__(model, f"Set {section}.{name}", op, (section, name))


class SetSweepCommand(_FieldCommand):
    """One field of the sweep's settings; ``ranges`` edits (one range each) never merge."""

    MERGE_ID = 104

    def __init__(self, model: ProjectModel, name: str, old: Any, new: Any, text: str = "") -> None:
        op = SetSweepField(name, old, new)
        super().__init__(model, text or f"Set sweep {name}", op, (name,))

    def id(self) -> int:
        return -1 if self.op.name == "ranges" else self.MERGE_ID
