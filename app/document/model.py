"""ProjectModel: the project under edit, the primitive changes made to it, and its analysis.

This is the layer orange-canvas-core calls the ``Scheme``: each public mutator makes one
change, emits the matching past-tense signal and marks the graph for re-analysis, so an undo
command is a list of mutator calls and needs no other knowledge of the document.

Mutators do not validate and do not touch the undo stack: they are for undo commands (through
the ops in ``ops.py``). Gestures, panels and scripts use ``GraphDocument``'s edit API, which
checks the edit and pushes the command that calls them.
"""

from __future__ import annotations

import copy
import inspect  # TEMP
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.document.sweep_keys import block_target
from engine.composite import uses
from engine.project import Edge, Graph, Node, Project
from engine.shapes import GraphAnalysis, analyze_graph

_TAKES_LIBRARY = "library" in inspect.signature(analyze_graph).parameters  # TEMP

#: Node fields that ``set_node_field`` may replace (``trainable`` and ``lr_mult`` are the
#: fine-tuning flags; they do not change the analysis but a frozen block looks different).
NODE_FIELDS = ("params", "label", "trainable", "lr_mult")

EdgeKey = tuple[str, str, str, str]  # (src, src_port, dst, dst_port)
EdgeEnd = tuple[int, str]  # (edge index, "src" | "dst"): one end of a wire that names a node


def edge_key(edge: Edge) -> EdgeKey:
    return (edge.src, edge.src_port, edge.dst, edge.dst_port)


def node_index(graph: Graph, node_id: str) -> int:
    for i, n in enumerate(graph.nodes):
        if n.id == node_id:
            return i
    raise KeyError(node_id)


class DocumentSignals(QObject):
    """The past-tense signals of a project's content.

    ``GraphDocument`` is one of these, because observers connect to the document, the one
    object they know; the ``ProjectModel`` it owns emits them as it changes the project.
    """

    node_added = Signal(str, str)
    node_removed = Signal(str, str)
    node_moved = Signal(str, str)
    node_changed = Signal(str, str)
    node_renamed = Signal(str, str, str)
    edge_added = Signal(str, object)
    edge_removed = Signal(str, object)
    graph_added = Signal(str)
    graph_removed = Signal(str)
    graph_renamed = Signal(str, str)
    graph_flow_changed = Signal(str)
    settings_changed = Signal(str, str)
    #: a field of ``project.sweep`` changed (``ranges``, ``trials``...)
    sweep_changed = Signal(str)
    analysis_updated = Signal(str)
    edited = Signal()


class ProjectModel:
    """A project, its mutators and the latest analysis of each graph.

    Re-analysis is batched: a mutator only marks its graph stale, and when the outermost
    ``batch()`` closes each stale graph is analysed once, in project order, then
    ``analysis_updated(graph)`` is emitted for each and ``edited()`` once. An undo command
    runs all its mutator calls in one batch; a mutator called outside any batch is a batch
    of its own.

    Every mutator either records where it changed things (indices) or takes them, so the
    reverse call restores the project exactly: undoing any sequence of edits gives back the
    original JSON byte for byte. The model keeps its own copies of the nodes, edges, graphs
    and values handed to it, so a caller's object (an undo command's record) never changes.
    """

    def __init__(self, project: Project, signals: DocumentSignals) -> None:
        self._project = project
        self._signals = signals
        self._analyses: dict[str, GraphAnalysis] = {}
        self._stale: set[str] = set()
        self._shown: set[str] = set()  # graphs whose views change, not their analysis
        self._names_changed = False  # a graph was added, removed or renamed in this batch
        self._depth = 0
        self._analyse_all()

    # -- reading ---------------------------------------------------------------------
    @property
    def project(self) -> Project:
        """The live project. Read it freely; change it only through the mutators."""
        return self._project

    def analysis(self, graph: str) -> GraphAnalysis:
        """The analysis of ``graph`` as of the last finished batch; raises KeyError for an
        unknown graph."""
        a = self._analyses.get(graph)
        if a is None:  # a graph added inside a batch that has not finished yet
            a = self._analyses[graph] = self._analyze(graph)
        return a

    def replace(self, project: Project) -> None:
        """Hold another project, analysed afresh. Emits nothing: the document says
        ``project_replaced``."""
        self._project = project
        self._analyses.clear()
        self._stale.clear()
        self._shown.clear()
        self._names_changed = False
        self._analyse_all()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group mutator calls: stale graphs are analysed once, when the outermost batch
        closes (an edit re-renders within one frame because of this)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._flush()

    # -- nodes -----------------------------------------------------------------------
    def insert_node(self, graph: str, index: int, node: Node) -> None:
        """Insert a copy of ``node`` at ``index``; emits ``node_added``."""
        with self.batch():
            self._project.graphs[graph].nodes.insert(index, node.model_copy(deep=True))
            self._stale.add(graph)
            self._signals.node_added.emit(graph, node.id)

    def remove_node(self, graph: str, index: int) -> Node:
        """Remove the node at ``index`` (its edges are separate calls) and return it;
        emits ``node_removed``."""
        with self.batch():
            gone = self._project.graphs[graph].nodes.pop(index)
            self._stale.add(graph)
            self._signals.node_removed.emit(graph, gone.id)
        return gone

    def move_node(self, graph: str, node_id: str, position: tuple[float, float]) -> None:
        """Place a node; emits ``node_moved``. Positions play no part in the analysis, so
        the graph is not re-analysed."""
        with self.batch():
            g = self._project.graphs[graph]
            g.nodes[node_index(g, node_id)].position = copy.deepcopy(position)
            self._signals.node_moved.emit(graph, node_id)

    def set_node_field(self, graph: str, node_id: str, name: str, value: Any) -> None:
        """Replace a node's ``params``, ``label``, ``trainable`` or ``lr_mult`` (a copy of
        ``value``); emits ``node_changed``."""
        if name not in NODE_FIELDS:
            raise ValueError(f"set_node_field sets {', '.join(NODE_FIELDS)}, not {name!r}")
        with self.batch():
            g = self._project.graphs[graph]
            setattr(g.nodes[node_index(g, node_id)], name, copy.deepcopy(value))
            self._stale.add(graph)
            self._signals.node_changed.emit(graph, node_id)

    def rename_node(self, graph: str, old: str, new: str,
                    ends: Sequence[EdgeEnd] | None = None) -> list[EdgeEnd]:
        """Give node ``old`` the id ``new`` and rewrite the given edge ends (default: every
        end that names ``old``). Returns the ends rewritten: renaming back must rewrite
        exactly those, not every edge that happens to name ``new`` (a file may hold a
        dangling wire). The rewired edges are reported removed, then ``node_renamed``, then
        added again, so a view can drop and rebuild them."""
        g = self._project.graphs[graph]
        if ends is None:
            ends = [(i, end) for i, e in enumerate(g.edges)
                    for end in ("src", "dst") if getattr(e, end) == old]
        ends = list(ends)
        with self.batch():
            touched = sorted({i for i, _ in ends})
            for i in touched:
                self._signals.edge_removed.emit(graph, edge_key(g.edges[i]))
            g.nodes[node_index(g, old)].id = new
            for i, end in ends:
                setattr(g.edges[i], end, new)
            self._stale.add(graph)
            self._signals.node_renamed.emit(graph, old, new)
            for i in touched:
                self._signals.edge_added.emit(graph, edge_key(g.edges[i]))
        return ends

    # -- edges -----------------------------------------------------------------------
    def insert_edge(self, graph: str, index: int, edge: Edge) -> None:
        """Insert a copy of ``edge`` at ``index``; emits ``edge_added``."""
        with self.batch():
            self._project.graphs[graph].edges.insert(index, edge.model_copy())
            self._stale.add(graph)
            self._signals.edge_added.emit(graph, edge_key(edge))

    def remove_edge(self, graph: str, index: int) -> Edge:
        """Remove the edge at ``index`` and return it; emits ``edge_removed``."""
        with self.batch():
            gone = self._project.graphs[graph].edges.pop(index)
            self._stale.add(graph)
            self._signals.edge_removed.emit(graph, edge_key(gone))
        return gone

    # -- project settings --------------------------------------------------------------
    def set_setting(self, section: str, name: str, value: Any) -> None:
        """Assign ``project.<section>.<name>`` (dataset, task or training) a copy of
        ``value``; emits ``settings_changed``. Settings are not part of a graph's analysis
        (the task-level problems are computed when asked), so nothing goes stale."""
        with self.batch():
            setattr(getattr(self._project, section), name, copy.deepcopy(value))
            self._signals.settings_changed.emit(section, name)

    def set_sweep_field(self, name: str, value: Any) -> None:
        """Assign ``project.sweep.<name>`` a copy of ``value``; emits ``sweep_changed``.
        The canvas marks blocks with ranges, so a change of ``ranges`` also emits
        ``analysis_updated`` for the graphs whose block keys changed (not re-analysed)."""
        with self.batch():
            sweep = self._project.sweep
            if name == "ranges":
                old, new = sweep.ranges, value
                changed = {k for k in {*old, *new} if old.get(k) != new.get(k)}
                self._shown |= {t[0] for k in changed
                                if (t := block_target(self._project, k)) is not None}
            setattr(sweep, name, copy.deepcopy(value))
            self._signals.sweep_changed.emit(name)

    # -- graphs ----------------------------------------------------------------------
    def insert_graph(self, name: str, index: int, graph: Graph) -> None:
        """Insert a copy of ``graph`` as ``name`` at position ``index``; emits
        ``graph_added``."""
        with self.batch():
            items = list(self._project.graphs.items())
            items.insert(index, (name, graph.model_copy(deep=True)))
            self._reorder(items)
            self._names_changed = True
            self._stale.add(name)
            self._signals.graph_added.emit(name)

    def remove_graph(self, name: str) -> Graph:
        """Remove graph ``name`` (and its analysis) and return it; emits
        ``graph_removed``."""
        with self.batch():
            gone = self._project.graphs.pop(name)
            self._analyses.pop(name, None)
            self._names_changed = True
            self._stale.add(name)  # the graphs using it re-analyse (it is skipped itself)
            self._signals.graph_removed.emit(name)
        return gone

    def rename_graph(self, old: str, new: str) -> None:
        """Rename a graph in place (its position among the graphs is kept); emits
        ``graph_renamed``. The analysis names the graph in its problems, so it is redone."""
        with self.batch():
            self._reorder([(new if k == old else k, g) for k, g in self._project.graphs.items()])
            self._analyses.pop(old, None)
            self._stale.add(old)  # the graphs using it by its old name re-analyse
            self._names_changed = True
            self._stale.add(new)
            self._signals.graph_renamed.emit(old, new)

    def set_graph_flow(self, graph: str, flow: str) -> None:
        """Set which way ``graph`` reads ("right" or "down"); emits ``graph_flow_changed``.
        The flow plays no part in the analysis, so the graph is not re-analysed."""
        with self.batch():
            self._project.graphs[graph].flow = flow  # type: ignore[assignment]
            self._signals.graph_flow_changed.emit(graph)

    # -- internals -------------------------------------------------------------------
    def _reorder(self, items: list[tuple[str, Graph]]) -> None:
        # In place, so pydantic does not re-validate (and copy) every graph on assignment.
        graphs = self._project.graphs
        graphs.clear()
        graphs.update(items)

    def _flush(self) -> None:
        stale, self._stale = self._stale, set()
        shown, self._shown = self._shown, set()
        graphs = self._project.graphs
        if self._names_changed:  # a use of a missing graph lists the graphs there are
            self._names_changed = False
            stale |= {parent for ref, pairs in uses(graphs).items() if ref not in graphs
                      for parent, _nid in pairs}
        stale = users_closure(graphs, stale)  # a composite changed: its users re-analyse
        for name in [n for n in graphs if n in stale or n in shown]:
            if name in stale:
                self._analyses[name] = self._analyze(name)
            self._signals.analysis_updated.emit(name)
        self._signals.edited.emit()

    def _analyse_all(self) -> None:
        for name in self._project.graphs:
            self._analyses[name] = self._analyze(name)

    def _analyze(self, name: str) -> GraphAnalysis:
        graphs = self._project.graphs
        return analyze_graph(graphs[name], name, library=graphs)


def users_closure(graphs: dict[str, Graph], names: set[str]) -> set[str]:
    """``names`` plus every graph that uses one of them as a composite, directly or
    through other composites (a changed or removed graph changes their analysis)."""
    users = {ref: {parent for parent, _nid in pairs} for ref, pairs in uses(graphs).items()}
    if not users:
        return set(names)
    out, stack = set(names), list(names)
    while stack:
        for parent in users.get(stack.pop(), ()):
            if parent not in out:
                out.add(parent)
                stack.append(parent)
    return out
