"""GraphScene: one graph of the document, mirrored as items.

The scene follows the document's signals (add/remove/move/rename, analysis updates) and
turns mouse gestures into document edits: a finished drag is one ``move_nodes`` call, a
wire drawn between ports is one ``connect`` call. It never changes the project itself.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent, QToolTip

from app.canvas.edge_item import EdgeItem
from app.canvas.node_item import GRID, NodeItem, NodeView, PortItem
from app.canvas.tools import CanvasTool, ConnectTool, ToolSlot
from app.document import EdgeKey, GraphDocument
from app.document.grouping import GROUP
from app.text import fmt_count, plain_tooltip
from app.theme import Theme
from engine.blocks import get_block
from engine.layout.geometry import Flow, Rect
from engine.project import Node
from engine.shapes import GraphAnalysis

EXTENT = 50_000.0  # the scene is a large fixed plane; the view pans over it


class GraphScene(QGraphicsScene):
    #: A sentence for the status bar (a refused connection, a finished one).
    message_posted = Signal(str)
    #: A composite block was double-clicked: show the tab of the graph it uses.
    composite_opened = Signal(str)

    def __init__(self, document: GraphDocument, graph: str, theme: Theme) -> None:
        super().__init__()
        self.document = document
        self.graph = graph
        self.theme = theme
        self.snap = True
        self.snapping = False  # true only while the user drags blocks
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[EdgeKey, list[EdgeItem]] = {}
        self.flow: Flow = document.graph(graph).flow
        self._rects: list[Rect] | None = None  # every block's rectangle, for the router
        self._reroute_pending = False  # the document moved blocks: re-route when it is done
        self._tools = ToolSlot()
        self.setSceneRect(QRectF(-EXTENT, -EXTENT, 2 * EXTENT, 2 * EXTENT))
        # Mostly static items spread over a large plane: the BSP index keeps hit tests fast.
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        d = document
        d.node_added.connect(self._on_document_node_added)
        d.node_removed.connect(self._on_document_node_removed)
        d.node_moved.connect(self._on_document_node_moved)
        d.node_renamed.connect(self._on_document_node_renamed)
        d.edge_added.connect(self._on_document_edge_added)
        d.edge_removed.connect(self._on_document_edge_removed)
        d.analysis_updated.connect(self._on_document_analysis_updated)
        d.graph_renamed.connect(self._on_document_graph_renamed)
        d.edited.connect(self._on_document_edited)
        self._build()

    def detach(self) -> None:
        """Stop following the document (before the scene is thrown away)."""
        d = self.document
        for sig, slot in ((d.node_added, self._on_document_node_added),
                          (d.node_removed, self._on_document_node_removed),
                          (d.node_moved, self._on_document_node_moved),
                          (d.node_renamed, self._on_document_node_renamed),
                          (d.edge_added, self._on_document_edge_added),
                          (d.edge_removed, self._on_document_edge_removed),
                          (d.analysis_updated, self._on_document_analysis_updated),
                          (d.graph_renamed, self._on_document_graph_renamed),
                          (d.edited, self._on_document_edited)):
            sig.disconnect(slot)
        self.cancel_tool()

    # -- building --------------------------------------------------------------------
    def _build(self) -> None:
        g = self.document.graph(self.graph)
        for node in g.nodes:
            if node.id not in self.nodes:
                self._add_node_item(node)
        for e in g.edges:
            self._add_edge_item((e.src, e.src_port, e.dst, e.dst_port))
        self._refresh_views()

    def _add_node_item(self, node: Node) -> NodeItem:
        item = NodeItem(node.id, self._view_for(node, None), self.flow)
        item.setPos(QPointF(*node.position))
        self.addItem(item)
        self.nodes[node.id] = item
        self._rects = None
        return item

    def _add_edge_item(self, key: EdgeKey) -> None:
        src, dst = self.nodes.get(key[0]), self.nodes.get(key[2])
        if src is None or dst is None:
            return  # a wire to a block that does not exist: the Problems list says so
        item = EdgeItem(key, src, dst)
        self.addItem(item)
        item.update_path()  # now among the other blocks, which it must go around
        self.edges.setdefault(key, []).append(item)

    def _view_for(self, node: Node, a: GraphAnalysis | None,
                  errors: tuple[str, ...] = (), warnings: tuple[str, ...] = ()) -> NodeView:
        block = get_block(node.type)
        title = node.label or node.id
        composite = node.type == GROUP
        if block is None and not composite:
            return NodeView(title, node.type, "", inputs=(), has_output=False,
                            errors=errors or (f"unknown block type {node.type!r}",),
                            frozen=not node.trainable)
        info = a.nodes.get(node.id) if a else None
        values = a.structure.params.get(node.id) if a else None
        ports = a.structure.ports.get(node.id) if a else None
        if ports is None or (composite and not ports):
            ports = self.document.input_ports(self.graph, node.id)
        if composite:  # named after its graph, ports after the graph's Inputs
            ref = node.params.get("graph")
            type_name = ref if isinstance(ref, str) else "Group"
            summary = ("in: " + ", ".join(ports)) if len(ports) > 1 else "composite"
            family = "composite"
        else:
            assert block is not None
            type_name, family = node.type, block.family
            summary = block.summary(values) if values is not None else ""
        if node.lr_mult != 1.0:
            summary = f"{summary} · lr ×{node.lr_mult:g}" if summary else f"lr ×{node.lr_mult:g}"
        return NodeView(title=title, type_name=type_name, family=family, summary=summary,
                        shape=str(info.out) if info and info.out else "",
                        params=fmt_count(info.params) if info and info.params else "",
                        inputs=tuple(ports), has_output=block.has_output if block else True,
                        errors=errors, warnings=warnings, composite=composite,
                        frozen=not node.trainable)

    def _refresh_views(self) -> None:
        """Push the latest analysis into every item; only items whose text changed repaint."""
        a = self.document.analysis(self.graph)
        errors: dict[str, list[str]] = {}
        warnings: dict[str, list[str]] = {}
        for p in a.problems:
            if p.node is not None:
                (errors if p.severity == "error" else warnings).setdefault(p.node, []).append(
                    p.message)
        moved: list[NodeItem] = []
        for node in self.document.graph(self.graph).nodes:
            item = self.nodes.get(node.id)
            if item is None:
                continue
            view = self._view_for(node, a, tuple(errors.get(node.id, ())),
                                  tuple(warnings.get(node.id, ())))
            if item.set_view(view):
                moved.append(item)
        if moved:
            self._rects = None  # taller blocks: wires re-route around their new size
            self._reroute_all()
        for key, items in self.edges.items():
            info = a.nodes.get(key[0])
            label = str(info.out) if info is not None and info.out is not None else ""
            for edge in items:
                edge.set_label(label)

    # -- wire routing ----------------------------------------------------------------
    def block_rects(self) -> list[Rect]:
        """Every block's rectangle (made once per change: a drag re-routes several wires)."""
        if self._rects is None:
            self._rects = [item.block_rect() for item in self.nodes.values()]
        return self._rects

    def block_moved(self, item: NodeItem) -> None:
        """A block moved: its wires re-route, and so do wires it now lies on."""
        self._rects = None
        if self._reroute_pending:
            return  # the document is moving many blocks: one re-route when it is done
        for edge in item.edges:
            edge.update_path()
        r = item.block_rect()
        for other in self.items(QRectF(r.left, r.top, r.right - r.left, r.bottom - r.top)):
            if isinstance(other, EdgeItem) and other not in item.edges:
                other.update_path()

    def _reroute_all(self) -> None:
        self._reroute_pending = False
        for items in self.edges.values():
            for edge in items:
                edge.update_path()

    def set_flow(self, flow: Flow) -> None:
        """Show the graph flowing ``flow``: ports move to the matching sides."""
        if flow != self.flow:
            self.flow = flow
            for item in self.nodes.values():
                item.set_flow(flow)
            self._reroute_all()

    # -- queries used by tools, views and the window ---------------------------------
    def port_at(self, pos: QPointF, exclude: PortItem | None = None) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem) and item is not exclude:
                return item
        return None

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edge_keys(self) -> list[EdgeKey]:
        return [i.key for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, ids: list[str]) -> None:
        self.clearSelection()
        for nid in ids:
            item = self.nodes.get(nid)
            if item is not None:
                item.setSelected(True)

    def open_composite(self, node_id: str) -> bool:
        """Show the graph a Group node uses (``composite_opened``); False for other nodes."""
        ref = self.document.composite_of(self.graph, node_id)
        if ref is None:
            return False
        self.composite_opened.emit(ref)
        return True

    def refuse(self, message: str, pos: QPointF) -> None:
        """Say why a gesture was refused: in the status bar and as a tooltip at the spot."""
        self.message_posted.emit(message)
        for view in self.views():
            QToolTip.showText(view.viewport().mapToGlobal(view.mapFromScene(pos)),
                              plain_tooltip(message), view.viewport())

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for item in self.items():
            item.update()
        self.update()

    # -- mouse and keys: a gesture in progress belongs to its tool ----------------------
    @property
    def tool(self) -> CanvasTool | None:
        """The gesture in progress (a wire being drawn), if any."""
        return self._tools.tool

    def cancel_tool(self) -> None:
        """Abandon the gesture in progress, if any (as Esc does)."""
        self._tools.cancel()

    def _tool_for(self, pos: QPointF) -> CanvasTool | None:
        """The tool a left press at ``pos`` starts; None leaves it to Qt (select, move
        blocks, rubber band)."""
        port = self.port_at(pos)
        return ConnectTool(self, port) if port is not None else None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            tool = self._tool_for(event.scenePos())
            if tool is not None:
                self._tools.start(tool, event.scenePos())
                event.accept()
                return
            self.cancel_tool()  # a release lost to another window leaves nothing behind
            self.snapping = self.snap
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._tools.move(event.scenePos()):
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._tools.release(event.scenePos()):
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self.snapping = False
        self._commit_moves()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._tools.key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def _commit_moves(self) -> None:
        """A drag is one undo step, pushed when the mouse is released."""
        g = self.document.graph(self.graph)
        moved = {}
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                node = g.node(item.node_id)
                pos = (item.pos().x(), item.pos().y())
                if node is not None and tuple(node.position) != pos:
                    moved[item.node_id] = pos
        if moved:
            self.document.move_nodes(self.graph, moved)

    # -- background ------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, self.theme.color("canvas"))
        scale = painter.worldTransform().m11()
        for step, color in ((GRID, "grid_minor"), (GRID * 5, "grid_major")):
            if step * scale < 8:
                continue  # denser than 8 px on screen is noise
            painter.setPen(QPen(QColor(self.theme.color(color)), 0))
            left = int(rect.left() // step) * step
            top = int(rect.top() // step) * step
            x = left
            while x < rect.right():
                painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
                x += step
            y = top
            while y < rect.bottom():
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
                y += step

    # -- document signals ------------------------------------------------------------
    def _on_document_node_added(self, graph: str, node_id: str) -> None:
        if graph == self.graph:
            node = self.document.node(graph, node_id)
            if node is not None and node_id not in self.nodes:
                self._add_node_item(node)

    def _on_document_node_removed(self, graph: str, node_id: str) -> None:
        if graph != self.graph:
            return
        item = self.nodes.pop(node_id, None)
        if item is not None:
            for edge in list(item.edges):
                self._drop_edge_item(edge)
            self.removeItem(item)
            self._rects = None

    def _on_document_node_moved(self, graph: str, node_id: str) -> None:
        if graph == self.graph and node_id in self.nodes:
            node = self.document.node(graph, node_id)
            item = self.nodes[node_id]
            if node is not None and item.pos() != QPointF(*node.position):
                self._reroute_pending = True  # settled in _on_document_edited
                item.setPos(QPointF(*node.position))

    def _on_document_edited(self) -> None:
        g = self.document.project.graphs.get(self.graph)
        if g is not None and g.flow != self.flow:
            self.set_flow(g.flow)
        elif self._reroute_pending:
            self._rects = None
            self._reroute_all()

    def _on_document_node_renamed(self, graph: str, old: str, new: str) -> None:
        if graph == self.graph and old in self.nodes:
            item = self.nodes.pop(old)
            item.node_id = new
            self.nodes[new] = item

    def _on_document_edge_added(self, graph: str, key: EdgeKey) -> None:
        if graph == self.graph:
            self._add_edge_item(tuple(key))  # type: ignore[arg-type]

    def _on_document_edge_removed(self, graph: str, key: EdgeKey) -> None:
        if graph == self.graph:
            items = self.edges.get(tuple(key))  # type: ignore[arg-type]
            if items:
                self._drop_edge_item(items[-1])

    def _drop_edge_item(self, edge: EdgeItem) -> None:
        items = self.edges.get(edge.key, [])
        if edge in items:
            items.remove(edge)
        if not items:
            self.edges.pop(edge.key, None)
        edge.detach()
        self.removeItem(edge)

    def _on_document_analysis_updated(self, graph: str) -> None:
        if graph == self.graph:
            self._refresh_views()

    def _on_document_graph_renamed(self, old: str, new: str) -> None:
        if old == self.graph:
            self.graph = new
