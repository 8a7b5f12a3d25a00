"""CanvasTabs: one canvas tab per graph of the project: the top-level graphs in project order,
then the composite blocks' graphs (marked), and the gestures on the current selection that
the Edit menu and the canvas context menu offer (group, ungroup, freeze, cut, open)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTabWidget, QWidget

from app.canvas.scene import GraphScene
from app.canvas.view import GraphView
from app.document import EditError, GraphDocument
from app.document.grouping import has_output
from app.theme import Theme
from engine import composite
from engine.project import Graph

#: after a composite's graph name on its tab
COMPOSITE_MARK = " ◇"


class CanvasTabs(QTabWidget):
    current_graph_changed = Signal(str)
    selection_changed = Signal()
    message_posted = Signal(str)
    file_dropped = Signal(str)
    #: a pretrained backbone was dropped on a canvas: (zoo key, graph, scene x, scene y)
    pretrained_dropped = Signal(str, str, float, float)

    def __init__(self, document: GraphDocument, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.theme = theme
        self.snap = True
        self.views: dict[str, GraphView] = {}
        self.context_actions: list[QAction | None] = []
        self.setDocumentMode(True)
        self.setMovable(False)
        self.currentChanged.connect(self._on_tabs_current_changed)
        document.graph_added.connect(self._on_document_graph_added)
        document.graph_removed.connect(self._on_document_graph_removed)
        document.graph_renamed.connect(self._on_document_graph_renamed)
        document.project_replaced.connect(self._on_document_project_replaced)
        document.edited.connect(self._on_document_edited)
        self.rebuild()

    # -- queries ---------------------------------------------------------------------
    def current_graph(self) -> str:
        view = self.currentWidget()
        return view.graph_scene.graph if isinstance(view, GraphView) else self.document.graph_names()[0]

    def current_view(self) -> GraphView:
        view = self.currentWidget()
        assert isinstance(view, GraphView)
        return view

    def current_scene(self) -> GraphScene:
        return self.current_view().graph_scene

    def view(self, graph: str) -> GraphView:
        return self.views[graph]

    def show_graph(self, graph: str) -> GraphView:
        view = self.views[graph]
        self.setCurrentWidget(view)
        return view

    def tab_order(self) -> list[str]:
        """The graphs as the tabs show them: top-level ones, then composites."""
        names = self.document.graph_names()
        composites = self.document.composite_names()
        return ([n for n in names if n not in composites]
                + [n for n in names if n in composites])

    def is_composite_tab(self, graph: str) -> bool:
        return graph in self.document.composite_names()

    def set_context_actions(self, actions: list[QAction | None]) -> None:
        """What a right click on any canvas offers (None: a separator)."""
        self.context_actions = list(actions)
        for view in self.views.values():
            view.context_actions = self.context_actions

    # -- changes ---------------------------------------------------------------------
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for view in self.views.values():
            view.graph_scene.set_theme(theme)

    def set_snap(self, on: bool) -> None:
        self.snap = on
        for view in self.views.values():
            view.graph_scene.snap = on

    def rebuild(self) -> None:
        """Throw away every canvas and build one per graph (a new project was loaded)."""
        self.blockSignals(True)
        for name in list(self.views):
            self._drop(name)
        for name in self.document.graph_names():
            self._add(name)
        self.setCurrentIndex(0)
        self.blockSignals(False)
        self._on_tabs_current_changed(self.currentIndex())

    def _add(self, name: str) -> GraphView:
        scene = GraphScene(self.document, name, self.theme)
        scene.snap = self.snap
        view = GraphView(scene)
        view.context_actions = self.context_actions
        scene.selectionChanged.connect(self.selection_changed)
        scene.message_posted.connect(self.message_posted)
        scene.composite_opened.connect(self.show_graph)
        view.file_dropped.connect(self.file_dropped)
        view.pretrained_dropped.connect(self.pretrained_dropped)
        self.views[name] = view
        order = [n for n in self.tab_order() if n in self.views]
        self.insertTab(order.index(name), view, name)
        self._mark(name)
        return view

    def _mark(self, name: str, uses: list[tuple[str, str]] | None = None) -> None:
        """Tab text and tooltip: a composite's name is marked and says who uses it."""
        i = self.indexOf(self.views[name])
        uses = self.document.composite_uses(name) if uses is None else uses
        text, tip = name, ""
        if uses:
            text = name + COMPOSITE_MARK
            where = ", ".join(f"{g}.{n}" for g, n in uses[:4]) + (" …" if len(uses) > 4 else "")
            tip = f"Composite block {name}, used by {where}"
        if self.tabText(i) != text:
            self.setTabText(i, text)
        if self.tabToolTip(i) != tip:
            self.setTabToolTip(i, tip)

    def sort_tabs(self) -> None:
        """Put the tabs in ``tab_order`` and mark the composites (after every edit: a graph
        becomes a composite when a Group node starts using it)."""
        bar = self.tabBar()
        uses = composite.uses(self.document.project.graphs)
        for target, name in enumerate(n for n in self.tab_order() if n in self.views):
            i = self.indexOf(self.views[name])
            if i != target:
                bar.moveTab(i, target)
            self._mark(name, uses.get(name, []))

    def _drop(self, name: str) -> None:
        view = self.views.pop(name)
        scene = view.graph_scene
        scene.detach()
        scene.selectionChanged.disconnect(self.selection_changed)
        self.removeTab(self.indexOf(view))
        view.setScene(None)
        view.deleteLater()
        scene.deleteLater()

    def _on_tabs_current_changed(self, _index: int) -> None:
        if self.count():
            self.current_graph_changed.emit(self.current_graph())
            self.selection_changed.emit()

    def _on_document_graph_added(self, name: str) -> None:
        self._add(name).request_fit()  # fitted when its tab is first shown

    def _on_document_graph_removed(self, name: str) -> None:
        if name in self.views:
            self._drop(name)

    def _on_document_graph_renamed(self, old: str, new: str) -> None:
        view = self.views.pop(old)
        self.views[new] = view
        self._mark(new)
        if view is self.currentWidget():
            self.current_graph_changed.emit(new)

    def _on_document_project_replaced(self) -> None:
        self.rebuild()

    def _on_document_edited(self) -> None:
        self.sort_tabs()

    # -- gestures on the selection (the Edit menu and the canvas context menu) ----------
    def selected_ids(self) -> list[str]:
        return self.current_scene().selected_node_ids() if self.count() else []

    def selected_composites(self) -> list[str]:
        """The selected Group nodes' ids."""
        g = self.current_graph()
        return [i for i in self.selected_ids() if self.document.composite_of(g, i) is not None]

    def _try(self, what: str, edit) -> object:  # noqa: ANN001 - a callable
        try:
            return edit()
        except EditError as e:
            self.message_posted.emit(str(e) if str(e)[:1].isupper() else f"{what}: {e}")
            return None

    def group_selection(self, name: str = "block") -> str | None:
        """Group the selected blocks into a composite named from ``name``; returns the new
        Group node's id, or None (the reason is posted)."""
        graph, ids = self.current_graph(), self.selected_ids()
        done = self._try("Cannot group", lambda: self.document.group(graph, ids, name))
        if done is None:
            return None
        gname, gid = done  # type: ignore[misc]
        self.current_scene().select_nodes([gid])
        self.message_posted.emit(f"Grouped {len(ids)} block(s) into {gname}")
        return gid

    def ungroup_selection(self) -> list[str]:
        graph, out = self.current_graph(), []
        groups = self.selected_composites()
        if not groups:
            self.message_posted.emit("Select a composite block to ungroup.")
            return []
        for gid in groups:
            ids = self._try("Cannot ungroup", lambda g=gid: self.document.ungroup(graph, g))
            out += ids or []  # type: ignore[operator]
        self.current_scene().select_nodes(out)
        return out

    def set_selection_trainable(self, trainable: bool) -> int:
        n = self.document.set_trainable(self.current_graph(), self.selected_ids(), trainable)
        if n:
            self.message_posted.emit(f"{'Unfroze' if trainable else 'Froze'} {n} block(s)")
        return n

    def cut_after_selection(self) -> list[str]:
        """Replace everything after the one selected block with the Output."""
        ids = self.selected_ids()
        if len(ids) != 1:
            self.message_posted.emit("Select the one block to cut after.")
            return []
        gone = self._try("Cannot cut", lambda: self.document.cut_at(self.current_graph(), ids[0]))
        if gone is not None:
            self.message_posted.emit(f"Cut after {ids[0]}: removed {len(gone)} block(s)")  # type: ignore[arg-type]
        return gone or []  # type: ignore[return-value]

    def open_selected_composite(self) -> str | None:
        groups = self.selected_composites()
        if not groups:
            return None
        ref = self.document.composite_of(self.current_graph(), groups[0])
        if ref is not None:
            self.show_graph(ref)
        return ref

    def place_composite(self, graph: str, name_hint: str, definition: Graph, x: float,
                        y: float, dataset: dict | None = None) -> tuple[str, str]:
        """Insert ``definition`` as a new composite used by a Group node centred on scene
        point (x, y) of ``graph``'s canvas (where a pretrained entry was dropped), with the
        ``dataset`` fields, in one undo step; the new block is selected and its tab shown.
        Returns (graph name, node id); raises EditError when refused."""
        view = self.views[graph]
        name, nid = self.document.insert_composite(
            graph, name_hint, definition, view.block_origin(QPointF(x, y)), dataset=dataset)
        self.show_graph(graph)
        view.graph_scene.select_nodes([nid])
        return name, nid

    def selection_state(self) -> dict[str, bool]:
        """Which selection gestures apply now (the actions enable from this)."""
        if not self.count():
            return dict.fromkeys(("group", "ungroup", "freeze", "unfreeze", "cut", "open"), False)
        g = self.document.graph(self.current_graph())
        nodes = [n for n in (g.node(i) for i in self.selected_ids()) if n is not None]
        groups = self.selected_composites()
        one = nodes[0] if len(nodes) == 1 else None
        return {"group": bool(nodes), "ungroup": bool(groups),
                "freeze": any(n.trainable for n in nodes),
                "unfreeze": any(not n.trainable for n in nodes),
                "cut": one is not None and has_output(one),
                "open": bool(groups)}
