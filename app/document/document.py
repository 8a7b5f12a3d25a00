"""GraphDocument: the one object that changes a project.

Every edit goes through a method here (the edit API), which checks it and pushes an undo
command; the canvas and the panels only react to the past-tense signals below. A command's
ops call the mutators of the ``ProjectModel`` the document owns (``model.py``): they change
the project, emit the signals and mark the graphs for re-analysis, and after each command
(and each undo or redo) the touched graphs are re-analysed (shapes, parameters, FLOPs,
problems) with ``analysis_updated`` emitted once per graph. The checks behind wiring are
``wiring.py``'s, pasting's fresh ids ``clipboard.py``'s. QtCore and QtGui only: no widgets.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.document import commands as cmd
from app.document import wiring
from app.document.clipboard import blocks_payload, fresh_copies, parse_payload
from app.document.composites import CompositeEdits
from app.document.datafit import DataFit
from app.document.errors import EditError
from app.document.grouping import rename_ref_ops, uses
from app.document.model import DocumentSignals, EdgeKey, ProjectModel, edge_key
from app.document.ops import MoveNode, Op, RenameGraph, SetGraphFlow, plain_value
from app.document.sweep_edits import SweepEdits
from engine.blocks import get_block
from engine.data.facts import DataFacts, reads_files
from engine.graph import Problem
from engine.layout import compute_layout
from engine.naming import make_identifier
from engine.project import DatasetSpec, Edge, Graph, Node, Project, RunRef, save_project
from engine.shapes import GraphAnalysis, project_problems

#: Project sections that ``set_field`` edits.
SECTIONS = ("dataset", "task", "training")
MAX_LABEL = 120


class GraphDocument(DocumentSignals, CompositeEdits, SweepEdits):
    """A project being edited, with its undo stack and the latest analysis of each graph.

    The edit API (``add_node``, ``remove``, ``connect``, ``set_param``, ``set_field``...)
    is what gestures, panels and scripts call: one call, one undo step. The lower layer,
    ``project_model``, is for undo commands only. It is a separate object rather than more
    methods here so the two cannot be confused (``rename_node`` here checks and makes an id
    and pushes a command; the model's ``rename_node`` just renames), and so commands and ops
    depend on the model alone, never on the document.

    Signals name what happened: ``node_added(graph, id)``, ``node_removed(graph, id)``,
    ``node_moved(graph, id)``, ``node_changed(graph, id)`` (params or label),
    ``node_renamed(graph, old, new)``, ``edge_added(graph, key)``, ``edge_removed(graph, key)``
    with key ``(src, src_port, dst, dst_port)``, ``graph_added(name)``,
    ``graph_removed(name)``, ``graph_renamed(old, new)``, ``settings_changed(section, field)``,
    ``sweep_changed(field)`` (search ranges: ``set_search_range``, in ``sweep_edits.py``),
    ``analysis_updated(graph)``, ``edited()`` (after every command, undo or redo),
    ``dirty_changed(dirty)``, ``path_changed(path)`` and ``project_replaced()``.
    """

    # The content signals (node_added ... edited) are declared on DocumentSignals.
    dirty_changed = Signal(bool)
    path_changed = Signal(str)
    project_replaced = Signal()
    #: the facts of the project's data arrived (or changed); problems() may differ
    data_facts_changed = Signal()

    def __init__(self, project: Project | None = None, path: str | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = ProjectModel(project if project is not None else Project(), self)
        self._path = path
        self._stack = QUndoStack(self)
        self._data_fit = DataFit()
        self._forced_dirty = False
        self._dirty = False
        self._stack.cleanChanged.connect(self._on_stack_clean_changed)

    # -- reading ---------------------------------------------------------------------
    @property
    def project(self) -> Project:
        """The live project. Read it freely; change it only through this class."""
        return self._model.project

    @property
    def project_model(self) -> ProjectModel:
        """The project's mutators, for undo commands. Gestures use the edit API below: a
        mutator called directly changes the project with nothing to undo it."""
        return self._model

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def undo_stack(self) -> QUndoStack:
        return self._stack

    def graph_names(self) -> list[str]:
        return list(self.project.graphs)

    def graph(self, name: str) -> Graph:
        try:
            return self.project.graphs[name]
        except KeyError:
            raise EditError(f"there is no graph named {name!r}") from None

    def node(self, graph: str, node_id: str) -> Node | None:
        return self.graph(graph).node(node_id)

    def analysis(self, graph: str) -> GraphAnalysis:
        """The analysis of ``graph`` as of the last edit."""
        try:
            return self._model.analysis(graph)
        except KeyError:
            raise EditError(f"there is no graph named {graph!r}") from None

    def problems(self) -> list[Problem]:
        """Every problem in the project: per graph, then what the task needs, then where
        the model does not fit its data (once the data's facts are known)."""
        ordered = {name: self.analysis(name) for name in self.project.graphs}
        found = project_problems(self.project, ordered)
        return self._data_fit.merged(self.project, found)

    # -- the data's facts --------------------------------------------------------------
    def data_facts(self) -> DataFacts | None:
        """What the project's data gives a model (shapes, classes), when known."""
        facts = self._data_fit.lookup(self.project.dataset)
        return facts if isinstance(facts, DataFacts) else None

    def data_facts_pending(self) -> bool:
        """The data is in files whose facts have not been read yet (see set_data_facts)."""
        return self._data_fit.pending(self.project.dataset)

    def set_data_facts(self, spec: DatasetSpec, facts: DataFacts | str) -> None:
        """Record the facts of the data ``spec`` names (as read in the background), or
        the sentence saying why it cannot be read. Facts of a spec that is no longer the
        project's are kept for undo; for the current one ``analysis_updated`` is emitted
        for the graph that takes the data, so the problem views refresh."""
        if not reads_files(spec):
            return  # built-in and downloadable sets are known without reading
        self._data_fit.store(spec, facts)
        if spec != self.project.dataset:
            return
        graph = "discriminator" if self.project.task.kind == "gan" else "model"
        if graph in self.project.graphs:
            self.analysis_updated.emit(graph)
        self.data_facts_changed.emit()

    def is_dirty(self) -> bool:
        return self._dirty

    def to_json(self) -> str:
        return self.project.to_json()

    # -- nodes -----------------------------------------------------------------------
    def add_node(self, graph: str, type_name: str, position: tuple[float, float] = (0.0, 0.0),
                 params: Mapping[str, Any] | None = None, node_id: str | None = None,
                 label: str = "") -> str:
        """Add a block of ``type_name``; returns its id (made unique from ``node_id``)."""
        block = get_block(type_name)
        if block is None:
            raise EditError(f"there is no block type {type_name!r}")
        g = self.graph(graph)
        taken = {n.id for n in g.nodes}
        nid = make_identifier(node_id or block.type, taken)
        values = {p.name: plain_value(p.default) for p in block.params}
        values.update({k: plain_value(v) for k, v in (params or {}).items()})
        node = Node(id=nid, type=block.type, params=values,
                    position=(float(position[0]), float(position[1])), label=label[:MAX_LABEL])
        self._stack.push(cmd.AddNodeCommand(self._model, graph, node))
        return nid

    def remove(self, graph: str, node_ids: Iterable[str] = (),
               edges: Iterable[EdgeKey] = ()) -> None:
        """Remove nodes (with every edge touching them) and edges, as one undo step."""
        g = self.graph(graph)
        ids = {i for i in node_ids if g.node(i) is not None}
        keys = {tuple(k) for k in edges}
        keys = {k for k in keys if any(edge_key(e) == k for e in g.edges)}
        if ids or keys:
            self._stack.push(cmd.RemoveItemsCommand(self._model, graph, ids, keys))  # type: ignore[arg-type]

    def move_nodes(self, graph: str, positions: Mapping[str, tuple[float, float]],
                   text: str = "") -> None:
        """Move several nodes in one undo step (a drag is pushed once, on release)."""
        g = self.graph(graph)
        moves = {}
        for nid, (x, y) in positions.items():
            node = g.node(nid)
            new = (float(x), float(y))
            if node is not None and tuple(node.position) != new:
                moves[nid] = (tuple(node.position), new)
        if moves:
            self._stack.push(cmd.MoveNodesCommand(self._model, graph, moves, text))

    def auto_layout(self, graph: str) -> None:
        """Lay the graph out in layers (``engine.layout``): top to bottom for a deep network,
        left to right for a short one. The blocks' places and the flow are one undo step."""
        g = self.graph(graph)
        layout = compute_layout(g)
        ops: list[Op] = []
        if layout.flow != g.flow:
            ops.append(SetGraphFlow(graph, g.flow, layout.flow))
        for n in g.nodes:
            old, new = tuple(n.position), layout.positions[n.id]
            if old != new:
                ops.append(MoveNode(graph, n.id, old, new))  # type: ignore[arg-type]
        if ops:
            self._stack.push(cmd.OpsCommand(self._model, "Auto layout", ops))

    def set_param(self, graph: str, node_id: str, name: str, value: Any) -> None:
        """Set one parameter; consecutive edits of one field of one node merge."""
        node = self._need_node(graph, node_id)
        block = get_block(node.type)
        if block is not None and name not in {p.name for p in block.params}:
            raise EditError(f"{node.type} has no parameter {name!r}")
        value = plain_value(value)
        if name in node.params and node.params[name] == value:
            return
        self._stack.push(cmd.SetParamCommand(self._model, graph, node, name, value))

    def set_label(self, graph: str, node_id: str, label: str) -> None:
        """Set the free-text label shown instead of the id (merges while typing)."""
        node = self._need_node(graph, node_id)
        label = " ".join(label.split())[:MAX_LABEL]
        if label != node.label:
            self._stack.push(cmd.SetLabelCommand(self._model, graph, node, label))

    def rename_node(self, graph: str, node_id: str, text: str) -> str:
        """Give a node a new id made from ``text``; its edges follow. Returns the new id."""
        self._need_node(graph, node_id)
        taken = {n.id for n in self.graph(graph).nodes} - {node_id}
        new = make_identifier(text, taken)
        if new != node_id:
            self._stack.push(cmd.RenameNodeCommand(self._model, graph, node_id, new))
        return new

    # -- edges -----------------------------------------------------------------------
    def connection_problem(self, graph: str, src: str, dst: str, dst_port: str = "in",
                           replace: bool = False) -> str | None:
        """Why the wire src -> dst.dst_port cannot be made, or None when it can. With
        ``replace``, a wire already in that input is no obstacle (``connect`` swaps it)."""
        return wiring.connection_problem(self.graph(graph), src, dst, dst_port, replace,
                                         self.project.graphs)

    def connect(self, graph: str, src: str, dst: str, dst_port: str = "in",
                replace: bool = False) -> str | None:
        """Wire src's output to dst's input port, or raise EditError saying why not.

        With ``replace``, a wire already in that input is swapped for the new one in the
        same undo step; returns the source of the wire it replaced (None if none was).
        """
        why = self.connection_problem(graph, src, dst, dst_port, replace)
        if why:
            raise EditError(f"Cannot connect: {why}")
        edge = Edge(src=src, dst=dst, dst_port=dst_port)
        for i, e in enumerate(self.graph(graph).edges):
            if e.dst == dst and e.dst_port == dst_port:  # only reached with replace
                self._stack.push(cmd.ReconnectCommand(self._model, graph, i, edge))
                return e.src
        self._stack.push(cmd.ConnectCommand(self._model, graph, edge))
        return None

    def disconnect(self, graph: str, key: EdgeKey) -> None:
        self.remove(graph, edges=[key])

    def input_ports(self, graph: str, node_id: str) -> tuple[str, ...]:
        """The node's input port names under its current parameters (defaults where invalid)."""
        return wiring.input_ports(self._need_node(graph, node_id), self.project.graphs)

    # -- clipboard -------------------------------------------------------------------
    def copy_payload(self, graph: str, node_ids: Iterable[str]) -> dict[str, Any]:
        """Plain JSON data for the given nodes and the edges between them."""
        return blocks_payload(self.graph(graph), set(node_ids))

    def paste(self, graph: str, payload: Mapping[str, Any],
              offset: tuple[float, float] = (30.0, 30.0), text: str = "Paste") -> list[str]:
        """Add copied blocks, with fresh ids, moved by ``offset``; returns the new ids."""
        nodes, edges = parse_payload(dict(payload))
        if not nodes:
            raise EditError("there are no blocks to paste")
        fresh, wires = fresh_copies(self.graph(graph), nodes, edges, offset)
        self._stack.push(cmd.PasteCommand(self._model, graph, fresh, wires, text))
        return [n.id for n in fresh]

    def duplicate(self, graph: str, node_ids: Iterable[str]) -> list[str]:
        return self.paste(graph, self.copy_payload(graph, node_ids), text="Duplicate")

    # -- graphs ----------------------------------------------------------------------
    def add_graph(self, text: str = "graph") -> str:
        """Add an empty graph named from ``text`` (made a unique identifier)."""
        name = make_identifier(text, set(self.project.graphs), fallback="graph")
        self._stack.push(cmd.AddGraphCommand(self._model, name, Graph()))
        return name

    def remove_graph(self, name: str) -> None:
        self.graph(name)
        if len(self.project.graphs) == 1:
            raise EditError("a project needs at least one graph")
        users = [(p, n) for p, n in uses(self.project).get(name, []) if p != name]
        if users:
            parent, nid = users[0]
            raise EditError(f"{name} is the composite block {nid} in {parent}: remove or "
                            "ungroup that block first")
        self._stack.push(cmd.RemoveGraphCommand(self._model, name))

    def rename_graph(self, name: str, text: str) -> str:
        """Rename a graph; Group nodes using it follow in the same undo step."""
        self.graph(name)
        new = make_identifier(text, set(self.project.graphs) - {name}, fallback="graph")
        if new != name:
            refs = rename_ref_ops(self.project, name, new)
            if refs:
                self._stack.push(cmd.OpsCommand(self._model, f"Rename graph {name} to {new}",
                                                [RenameGraph(name, new), *refs]))
            else:
                self._stack.push(cmd.RenameGraphCommand(self._model, name, new))
        return new

    # -- project settings --------------------------------------------------------------
    def set_field(self, section: str, name: str, value: Any) -> None:
        """Set ``project.<section>.<name>`` (dataset, task, training), validated; consecutive
        edits of one field merge into one undo step."""
        if section not in SECTIONS:
            raise EditError(f"unknown settings section {section!r}")
        model = getattr(self.project, section)
        if name not in type(model).model_fields:
            raise EditError(f"{section} has no field {name!r}")
        try:
            checked = type(model).model_validate({**model.model_dump(), name: value})
        except ValidationError as e:
            raise EditError(f"{section}.{name}: {e.errors()[0]['msg']}") from None
        old, new = copy.deepcopy(getattr(model, name)), getattr(checked, name)
        if old != new:
            self._stack.push(cmd.SetFieldCommand(self._model, section, name, old, new))

    # -- history and files -----------------------------------------------------------
    def set_runs(self, runs: list[RunRef]) -> None:
        """Replace the project's run history. A run records what happened, not an edit, so
        this bypasses the undo stack (undo must not forget a run that exists on disk); the
        project is marked unsaved."""
        self.project.runs = list(runs)
        self._forced_dirty = True
        self._update_dirty()

    def undo(self) -> None:
        self._stack.undo()

    def redo(self) -> None:
        self._stack.redo()

    def replace_project(self, project: Project, path: str | None = None,
                        dirty: bool = False) -> None:
        """Start editing another project (history cleared). ``dirty`` marks content that
        differs from ``path`` on disk, e.g. a recovered autosave."""
        self._stack.clear()
        self._model.replace(project)
        self._set_path(path)
        self._forced_dirty = dirty
        self.project_replaced.emit()
        self._update_dirty()

    def save(self, path: str | Path | None = None) -> None:
        """Write the project atomically to ``path`` (default: its own); raises ProjectError."""
        target = path if path is not None else self._path
        if target is None:
            raise EditError("the project has no file yet: choose where to save it")
        save_project(self.project, target)
        self._set_path(str(target))
        self._forced_dirty = False
        self._stack.setClean()
        self._update_dirty()

    # -- internals -------------------------------------------------------------------
    def _need_node(self, graph: str, node_id: str) -> Node:
        node = self.node(graph, node_id)
        if node is None:
            raise EditError(f"there is no block {node_id!r} in {graph}")
        return node

    def _set_path(self, path: str | None) -> None:
        if path != self._path:
            self._path = path
            self.path_changed.emit(path or "")

    def _on_stack_clean_changed(self, _clean: bool) -> None:
        self._update_dirty()

    def _update_dirty(self) -> None:
        dirty = self._forced_dirty or not self._stack.isClean()
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)
