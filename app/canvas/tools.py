"""Mouse tools: objects that own one gesture on the canvas from press to release."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsPathItem

from app.canvas.edge_item import wire_path
from app.canvas.node_item import PortItem

if TYPE_CHECKING:
    from app.canvas.scene import GraphScene


class ConnectTool:
    """Drag a wire out of a port. Over a port it says whether the wire can go there (and
    why not); on release it connects through the document or posts the reason it refused."""

    def __init__(self, scene: GraphScene, origin: PortItem) -> None:
        self.scene = scene
        self.origin = origin
        self.target: PortItem | None = None
        self.problem: str | None = None
        self._wire = QGraphicsPathItem()
        self._wire.setZValue(10)
        scene.addItem(self._wire)
        self._style(None)

    def _ends(self, target: PortItem) -> tuple[str, str, str]:
        """(src, dst, dst_port) of the wire, whichever end the drag started from."""
        out, inp = (self.origin, target) if self.origin.is_output else (target, self.origin)
        return out.node.node_id, inp.node.node_id, inp.name

    def _check(self, target: PortItem) -> str | None:
        if target.is_output == self.origin.is_output:
            return "drag from an output (right side) to an input (left side)"
        src, dst, port = self._ends(target)
        return self.scene.document.connection_problem(self.scene.graph, src, dst, port)

    def _style(self, ok: bool | None) -> None:
        theme = self.scene.theme
        color = theme.color("edge" if ok is None else "ok" if ok else "error")
        pen = QPen(color, 2.0)
        if ok is None:
            pen.setStyle(Qt.PenStyle.DashLine)
        self._wire.setPen(pen)

    def move(self, pos: QPointF) -> None:
        target = self.scene.port_at(pos, exclude=self.origin)
        end = target.scenePos() if target is not None else pos
        start = self.origin.scenePos()
        if self.origin.is_output:
            self._wire.setPath(wire_path(start, end))
        else:
            self._wire.setPath(wire_path(end, start))
        if target is not self.target:
            self.target = target
            self.problem = self._check(target) if target is not None else None
            self._style(None if target is None else self.problem is None)
            if self.problem:
                self.scene.message_posted.emit(f"Cannot connect: {self.problem}")

    def finish(self, pos: QPointF) -> bool:
        """End the drag; returns True when a wire was added."""
        self.move(pos)
        self.cancel()
        if self.target is None:
            return False
        if self.problem:
            self.scene.refuse(f"Cannot connect: {self.problem}", pos)
            return False
        src, dst, port = self._ends(self.target)
        self.scene.document.connect(self.scene.graph, src, dst, port)
        self.scene.message_posted.emit(f"Connected {src} to {dst}" +
                                       (f".{port}" if port != "in" else ""))
        return True

    def cancel(self) -> None:
        if self._wire.scene() is not None:
            self.scene.removeItem(self._wire)
