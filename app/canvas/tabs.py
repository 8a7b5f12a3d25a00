"""CanvasTabs: one canvas tab per graph of the project, in project order."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from app.canvas.scene import GraphScene
from app.canvas.view import GraphView
from app.document import GraphDocument
from app.theme import Theme


class CanvasTabs(QTabWidget):
    current_graph_changed = Signal(str)
    selection_changed = Signal()
    message_posted = Signal(str)
    file_dropped = Signal(str)

    def __init__(self, document: GraphDocument, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.theme = theme
        self.snap = True
        self.views: dict[str, GraphView] = {}
        self.setDocumentMode(True)
        self.setMovable(False)
        self.currentChanged.connect(self._on_tabs_current_changed)
        document.graph_added.connect(self._on_document_graph_added)
        document.graph_removed.connect(self._on_document_graph_removed)
        document.graph_renamed.connect(self._on_document_graph_renamed)
        document.project_replaced.connect(self._on_document_project_replaced)
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
        scene.selectionChanged.connect(self.selection_changed)
        scene.message_posted.connect(self.message_posted)
        view.file_dropped.connect(self.file_dropped)
        self.views[name] = view
        self.insertTab(self.document.graph_names().index(name), view, name)
        return view

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
        self._add(name)

    def _on_document_graph_removed(self, name: str) -> None:
        if name in self.views:
            self._drop(name)

    def _on_document_graph_renamed(self, old: str, new: str) -> None:
        view = self.views.pop(old)
        self.views[new] = view
        self.setTabText(self.indexOf(view), new)
        if view is self.currentWidget():
            self.current_graph_changed.emit(new)

    def _on_document_project_replaced(self) -> None:
        self.rebuild()
