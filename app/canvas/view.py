"""GraphView: zoom around the cursor, pan (Space-drag or middle button), fit, and drops.

Panning is a ``PanTool``, driven like the scene's tools (press, move, release, key); every
other mouse gesture and key goes on to the scene.

A block dragged from the palette is added where it is dropped, and so is a composite (a
Group node using the dragged graph name); a pretrained backbone dragged from the palette is
announced (``pretrained_dropped``) for the window to fetch; a .lforge file dropped here is
handed to the window to open. A right click shows the canvas actions the tabs hand in.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFocusEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView, QMenu, QWidget

from app.canvas.node_item import GRID, TEXT_ZOOM, WIDTH, NodeItem, node_height
from app.canvas.scene import GraphScene
from app.canvas.tools import PanTool, ToolSlot
from app.document import MIME_BLOCK_TYPE, EditError
from engine.project import FILE_SUFFIX

MIN_ZOOM, MAX_ZOOM, FIT_MAX_ZOOM = 0.08, 4.0, 1.25
READABLE_ZOOM = 0.75  # below this block text is hard to read
# A project (a template) opens fitted whole as long as its blocks still show their text;
# the layered layout wraps deep networks into columns, so every template fits a window.
OPEN_ZOOM = TEXT_ZOOM
#: a graph name of the project, dragged from the palette: drop = a Group node using it
MIME_COMPOSITE = "application/x-layerforge-composite"
#: a zoo entry key, dragged from the palette: the window fetches it, then inserts it
MIME_PRETRAINED = "application/x-layerforge-pretrained"
DROPS = (MIME_BLOCK_TYPE, MIME_COMPOSITE, MIME_PRETRAINED)


def dropped_project(mime: QMimeData) -> str | None:
    """The first local .lforge file in a drop, if any."""
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile() and url.toLocalFile().endswith(FILE_SUFFIX):
            return url.toLocalFile()
    return None


class GraphView(QGraphicsView):
    file_dropped = Signal(str)
    #: a pretrained entry was dropped: (zoo key, graph, scene x, scene y of the drop)
    pretrained_dropped = Signal(str, str, float, float)

    def __init__(self, scene: GraphScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self._space = False
        self._tools = ToolSlot()  # the view's own gesture: a pan
        self._fit_pending = False
        # After a fit, and until the user zooms or pans, resizing keeps the graph fitted:
        # None = the user has taken over, else the ``readable`` flag of the last fit.
        self._fitted: bool | None = None
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        # zoom_by keeps the point under the cursor itself: Qt's AnchorUnderMouse uses the
        # last mouse *move*, which is stale when the wheel turns without one.
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.context_actions: list[QAction | None] = []  # None: a separator
        self.centerOn(0, 0)

    # -- zoom and view -----------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, around: QPointF | None = None) -> None:
        """Zoom keeping the scene point under ``around`` (viewport pixels; default the
        middle) where it is on screen."""
        self._fitted = None
        z = self.zoom()
        factor = max(MIN_ZOOM / z, min(MAX_ZOOM / z, factor))
        pos = (around if around is not None else QPointF(self.viewport().rect().center())).toPoint()
        fixed = self.mapToScene(pos)
        self.scale(factor, factor)
        shift = self.mapFromScene(fixed) - pos
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + shift.x())
        v.setValue(v.value() + shift.y())

    def blocks_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.graph_scene.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def scene_items_rect(self) -> QRectF:
        """The blocks and their wires (a routed wire may run beside the outermost block)."""
        rect = self.blocks_rect()
        if rect.isNull():
            return rect
        for items in self.graph_scene.edges.values():
            for edge in items:
                rect = rect.united(edge.sceneBoundingRect())
        return rect

    def fit_all(self, readable: bool | float = False) -> None:
        """Show every block; small graphs are not blown up past a readable size. With
        ``readable``, a graph too long to read whole is shown from its start instead (a
        number: the smallest zoom to fit at, else ``READABLE_ZOOM``)."""
        self._fitted = readable
        rect = self.scene_items_rect()
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        self.fitInView(rect.adjusted(-60, -60, 60, 60), Qt.AspectRatioMode.KeepAspectRatio)
        z = self.zoom()
        floor = (MIN_ZOOM if readable is False else READABLE_ZOOM if readable is True
                 else float(readable))
        if z > FIT_MAX_ZOOM or z < floor:
            target = min(max(z, floor), FIT_MAX_ZOOM)
            self.scale(target / z, target / z)
            if z < floor:  # the whole graph does not fit: start where it starts, top left
                vp = self.viewport()
                wide = rect.width() * target > vp.width()
                tall = rect.height() * target > vp.height()
                x = rect.left() - 40 + vp.width() / (2 * target) if wide else rect.center().x()
                y = rect.top() - 40 + vp.height() / (2 * target) if tall else rect.center().y()
                self.centerOn(x, y)
            else:
                self.centerOn(rect.center())

    def request_fit(self) -> None:
        """Fit once the window's layout has settled (docks take their share first), or
        when the view is first shown if it is on a hidden tab."""
        self._fit_pending = True
        QTimer.singleShot(0, self, self._on_fit_timer_timeout)

    def _on_fit_timer_timeout(self) -> None:
        if self._fit_pending and self.isVisible():
            self._fit_pending = False
            self.fit_all(readable=OPEN_ZOOM)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._fit_pending:
            self._fit_pending = False
            self.fit_all(readable=OPEN_ZOOM)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted is not None:
            self.fit_all(readable=self._fitted)

    def scroll_by(self, dx: int, dy: int) -> None:
        """Scroll by pixels; the user has taken over from fit-to-view."""
        self._fitted = None
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + dx)
        v.setValue(v.value() + dy)

    def centre_on_node(self, node_id: str) -> None:
        item = self.graph_scene.nodes.get(node_id)
        if item is not None:
            self._fitted = None
            self.centerOn(item)

    def visible_centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015 ** delta, event.position())
        event.accept()

    # -- panning: Space + left drag, or the middle button ------------------------------
    def show_idle_cursor(self) -> None:
        """The cursor between gestures: an open hand while Space is held."""
        if self._space:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.viewport().unsetCursor()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._tools.key(event):
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            if self._tools.tool is None:  # a second button mid-pan just goes on panning
                self._tools.start(PanTool(self), event.position())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._tools.move(event.position()):
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._tools.release(event.position()):
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._space = False  # a released Space may never arrive once focus is gone
        super().focusOutEvent(event)

    # -- drops -----------------------------------------------------------------------
    def _accepts(self, mime: QMimeData) -> bool:
        return any(mime.hasFormat(f) for f in DROPS) or dropped_project(mime) is not None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        path = dropped_project(mime)
        if path is not None:
            event.acceptProposedAction()
            self.file_dropped.emit(path)
            return
        fmt = next((f for f in DROPS if mime.hasFormat(f)), None)
        if fmt is None:
            event.ignore()
            return
        text = bytes(mime.data(fmt).data()).decode("utf-8", "replace")
        at = self.mapToScene(event.position().toPoint())
        try:
            self.drop_text(fmt, text, at)
        except EditError as e:
            self.graph_scene.message_posted.emit(str(e))
            event.ignore()
            return
        event.acceptProposedAction()

    def drop_text(self, fmt: str, text: str, at: QPointF) -> str | None:
        """What a drop of ``text`` in format ``fmt`` at scene point ``at`` does; returns the
        id of the block added, if one was. Raises EditError when it is refused."""
        if fmt == MIME_PRETRAINED:
            self.pretrained_dropped.emit(text, self.graph_scene.graph, at.x(), at.y())
            return None
        if fmt == MIME_COMPOSITE:
            return self.add_composite_at(text, at)
        return self.add_block_at(text, at)

    def block_origin(self, centre: QPointF) -> tuple[float, float]:
        """Top-left position of a block centred on ``centre`` (snapped when snapping)."""
        x, y = centre.x() - WIDTH / 2, centre.y() - node_height(1) / 2
        if self.graph_scene.snap:
            x, y = round(x / GRID) * GRID, round(y / GRID) * GRID
        return (float(x), float(y))

    def add_composite_at(self, composite: str, centre: QPointF) -> str:
        """Add a Group node using graph ``composite`` centred on a scene point."""
        scene = self.graph_scene
        nid = scene.document.add_group_node(scene.graph, composite, self.block_origin(centre))
        scene.select_nodes([nid])
        self.setFocus()
        return nid

    def add_block_at(self, type_name: str, centre: QPointF) -> str:
        """Add a block centred on a scene point (snapped to the grid); returns its id."""
        scene = self.graph_scene
        nid = scene.document.add_node(scene.graph, type_name, self.block_origin(centre))
        scene.select_nodes([nid])
        self.setFocus()
        return nid

    # -- context menu ----------------------------------------------------------------
    def context_menu(self, pos: QPointF) -> QMenu:
        """The menu a right click at viewport point ``pos`` shows: a block under the cursor
        that is not selected becomes the selection first, so the actions apply to it."""
        scene = self.graph_scene
        item = scene.itemAt(self.mapToScene(pos.toPoint()), self.transform())
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        if isinstance(item, NodeItem) and not item.isSelected():
            scene.select_nodes([item.node_id])
        menu = QMenu(self)
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if not self.context_actions:
            super().contextMenuEvent(event)
            return
        menu = self.context_menu(QPointF(event.pos()))
        menu.exec(event.globalPos())
        menu.deleteLater()
        event.accept()
