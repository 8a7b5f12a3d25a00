"""The document's edit API for composite blocks and fine-tuning flags (decision 0001).

``CompositeEdits`` is mixed into ``GraphDocument``: each method checks its arguments, builds
the ops of one undo step (``grouping.py``) and pushes them as one command, so undo gives back
the project JSON byte for byte. Refusals raise ``GroupError`` with a sentence for the user.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from app.document import grouping
from app.document.commands import OpsCommand
from app.document.errors import GroupError
from app.document.ops import InsertGraph, InsertNode, Op, SetNodeField
from engine.errors import UserError
from engine.naming import make_identifier
from engine.project import Graph

if TYPE_CHECKING:
    from PySide6.QtGui import QUndoStack

    from app.document.model import ProjectModel
    from engine.project import Node, Project
    from engine.shapes import GraphAnalysis


class CompositeEdits:
    """Group, ungroup, use a composite again, insert a pretrained one, freeze, cut."""

    # Provided by GraphDocument.
    _model: ProjectModel
    _stack: QUndoStack

    if TYPE_CHECKING:
        @property
        def project(self) -> Project: ...
        def graph(self, name: str) -> Graph: ...
        def analysis(self, graph: str) -> GraphAnalysis: ...
        def _need_node(self, graph: str, node_id: str) -> Node: ...

    def _push(self, text: str, ops: list[Op]) -> None:
        if ops:
            self._stack.push(OpsCommand(self._model, text, ops))

    # -- reading ---------------------------------------------------------------------
    def composite_of(self, graph: str, node_id: str) -> str | None:
        """The graph a Group node uses, or None for any other node."""
        node = self.graph(graph).node(node_id)
        if node is None or node.type != grouping.GROUP:
            return None
        ref = node.params.get("graph")
        return ref if isinstance(ref, str) and ref in self.project.graphs else None

    def composite_names(self) -> set[str]:
        """Graphs used as composite blocks somewhere in the project."""
        return {ref for ref in grouping.uses(self.project) if ref in self.project.graphs}

    def composite_uses(self, name: str) -> list[tuple[str, str]]:
        """(parent graph, Group node id) of each use of composite ``name``."""
        return list(grouping.uses(self.project).get(name, []))

    def group_problem(self, graph: str, node_ids: Iterable[str]) -> str | None:
        """Why the blocks cannot be grouped, or None when they can."""
        try:
            grouping.group_ops(self.project, graph, node_ids, "block", None)
        except GroupError as e:
            return str(e)
        return None

    # -- composites ------------------------------------------------------------------
    def group(self, graph: str, node_ids: Iterable[str], name: str = "block") -> tuple[str, str]:
        """Replace the blocks by one Group node using a new composite graph named from
        ``name``; returns (graph name, Group node id). One undo step."""
        self.graph(graph)
        ops, gname, gid = grouping.group_ops(self.project, graph, list(node_ids), name,
                                             self.analysis(graph))
        self._push(f"Group {gname}", ops)
        return gname, gid

    def ungroup(self, graph: str, node_id: str) -> list[str]:
        """Put a Group node's blocks back in its place (fresh ids, rewired); its graph goes
        too unless another Group node uses it. Returns the inlined ids. One undo step."""
        self.graph(graph)
        ops, ids = grouping.ungroup_ops(self.project, graph, node_id)
        self._push(f"Ungroup {node_id}", ops)
        return ids

    def add_group_node(self, graph: str, composite: str,
                       position: tuple[float, float] = (0.0, 0.0)) -> str:
        """Add another use of an existing composite (its own weights); returns the id."""
        self.graph(graph)
        why = grouping.use_problem(self.project, graph, composite)
        if why:
            raise GroupError(f"Cannot add {composite}: {why}.")
        node = grouping.new_group_node(self.project, graph, composite, position)
        self._push(f"Add {node.id}", [InsertNode(graph, len(self.graph(graph).nodes), node)])
        return node.id

    def insert_composite(self, parent: str, name_hint: str, graph: Graph,
                         position: tuple[float, float] = (0.0, 0.0), *,
                         dataset: Mapping[str, Any] | None = None) -> tuple[str, str]:
        """Add ``graph`` under a unique name made from ``name_hint`` and a Group node using
        it in ``parent`` at ``position``, and set the ``dataset`` fields (a pretrained
        backbone's image size, mean, std) in the same undo step. Returns (name, node id)."""
        self.graph(parent)
        why = grouping.insert_problem(self.project, parent, graph)
        if why:
            raise GroupError(f"Cannot insert {name_hint}: {why}.")
        name = make_identifier(name_hint, set(self.project.graphs), fallback="backbone")
        ops: list[Op] = [InsertGraph(name, len(self.project.graphs), graph)]
        node = grouping.new_group_node(self.project, parent, name, position, name_hint)
        ops.append(InsertNode(parent, len(self.graph(parent).nodes), node))
        ops += grouping.dataset_ops(self.project, dataset or {})
        self._push(f"Insert {name}", ops)
        return name, node.id

    def cut_at(self, graph: str, node_id: str) -> list[str]:
        """Remove everything downstream of ``node_id`` (and what fed only that part) and
        feed the Output from it, by ``engine.train.head.cut_graph`` (to fit a new head on a
        backbone). Returns the removed ids. One undo step."""
        node = self._need_node(graph, node_id)
        if node.type == "Output" or not grouping.has_output(node):
            raise GroupError(f"{node_id} has no output to cut after: select the block whose "
                             "result the new Output should take.")
        from engine.train.head import cut_graph  # torch-free, but not needed at start

        old = self.graph(graph)
        try:
            new = cut_graph(old, node_id)
        except UserError as e:
            raise GroupError(str(e)) from None
        gone = [n.id for n in old.nodes if new.node(n.id) is None]
        self._push(f"Cut after {node_id}", grouping.diff_ops(graph, old, new))
        return gone

    def replace_graph(self, graph: str, new: Graph, text: str = "Change the graph") -> None:
        """Make ``graph`` equal to ``new`` (a changed copy, e.g. by Fit model to data) in
        one undo step that keeps the blocks and wires that stay."""
        from app.document.replace import replace_ops

        self._push(text, replace_ops(graph, self.graph(graph), new))

    # -- fine-tuning flags -------------------------------------------------------------
    def set_trainable(self, graph: str, node_ids: Iterable[str], trainable: bool) -> int:
        """Freeze (False) or unfreeze blocks; returns how many changed. One undo step."""
        g = self.graph(graph)
        ops: list[Op] = [SetNodeField(graph, n.id, "trainable", n.trainable, bool(trainable))
                         for n in g.nodes if n.id in set(node_ids) and n.trainable != trainable]
        self._push(f"{'Unfreeze' if trainable else 'Freeze'} {len(ops)} block(s)", ops)
        return len(ops)

    def set_lr_mult(self, graph: str, node_ids: Iterable[str], value: float) -> int:
        """Set the blocks' learning-rate multiplier (0 < value <= 1000); one undo step."""
        g = self.graph(graph)
        v = float(value)
        if not (math.isfinite(v) and 0.0 < v <= 1000.0):
            raise GroupError(f"A learning-rate multiplier must be above 0 and at most 1000, "
                             f"not {value}.")
        ops: list[Op] = [SetNodeField(graph, n.id, "lr_mult", n.lr_mult, v)
                         for n in g.nodes if n.id in set(node_ids) and n.lr_mult != v]
        self._push(f"Set learning-rate multiplier of {len(ops)} block(s)", ops)
        return len(ops)
