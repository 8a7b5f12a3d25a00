"""Mouse tools: objects that own one gesture on the canvas, from press to release.

Every tool has the same interface (``CanvasTool``): its host (the scene for editing
gestures, the view for navigation) creates it when a button goes down, then hands it
``press``, each ``move``, the ``release`` and any key pressed meanwhile. Esc cancels any
gesture: ``cancel`` leaves nothing behind (no edit, no temporary item). A host keeps its
gesture in a ``ToolSlot``, which drops the tool once it is no longer ``active``, so the next
press starts afresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from app.canvas.edge_item import wire_path
from app.canvas.node_item import PortItem

if TYPE_CHECKING:
    from app.canvas.scene import GraphScene
    from app.canvas.view import GraphView


class CanvasTool:
    """One gesture. Positions are in the host's coordinates: scene coordinates for the
    scene's tools, viewport pixels for the view's.

    Subclasses implement ``press``, ``move``, ``release`` and ``cancel``, and call ``end()``
    when the gesture is over, whichever way it ends.
    """

    def __init__(self) -> None:
        self.active = True

    def press(self, pos: QPointF) -> None:
        """The button went down at ``pos``: the gesture starts."""

    def move(self, pos: QPointF) -> None:
        """The pointer moved to ``pos`` with the button held."""

    def release(self, pos: QPointF) -> None:
        """The button came up at ``pos``: complete the gesture."""
        self.end()

    def key(self, event: QKeyEvent) -> bool:
        """A key went down during the gesture; returns whether the tool used it. Esc
        cancels; other keys go on to the host (Space, shortcuts)."""
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        """Abandon the gesture: undo whatever it showed, change nothing."""
        self.end()

    def end(self) -> None:
        """Mark the gesture over; its host then lets the tool go."""
        self.active = False


class ToolSlot:
    """The gesture in progress on one host, if any: the host hands each event here first
    and handles it itself only when this returns False."""

    def __init__(self) -> None:
        self.tool: CanvasTool | None = None

    def start(self, tool: CanvasTool, pos: QPointF) -> None:
        """Begin ``tool`` with a press at ``pos``; a gesture still in progress (its
        release went to another window) is abandoned first."""
        self.cancel()
        self.tool = tool
        tool.press(pos)
        self._drop_finished()

    def move(self, pos: QPointF) -> bool:
        if self.tool is None:
            return False
        self.tool.move(pos)
        self._drop_finished()
        return True

    def release(self, pos: QPointF) -> bool:
        tool, self.tool = self.tool, None
        if tool is None:
            return False
        tool.release(pos)
        return True

    def key(self, event: QKeyEvent) -> bool:
        if self.tool is None or not self.tool.key(event):
            return False
        self._drop_finished()
        return True

    def cancel(self) -> None:
        tool, self.tool = self.tool, None
        if tool is not None:
            tool.cancel()

    def _drop_finished(self) -> None:
        if self.tool is not None and not self.tool.active:
            self.tool = None


class ConnectTool(CanvasTool):
    """Drag a wire out of a port. Over a port it says whether the wire can go there (and
    why not); on release it connects through the document or posts the reason it refused.
    Dropped on an input that already has a wire, the new wire replaces the old one (one undo
    step). The wire drawn meanwhile is a temporary item, removed however the drag ends."""

    def __init__(self, scene: GraphScene, origin: PortItem) -> None:
        super().__init__()
        self.scene = scene
        self.origin = origin
        self.target: PortItem | None = None
        self.problem: str | None = None
        self._wire = QGraphicsPathItem()
        self._wire.setZValue(10)

    def press(self, pos: QPointF) -> None:
        self.scene.addItem(self._wire)
        self._style(None)

    def _ends(self, target: PortItem) -> tuple[str, str, str]:
        """(src, dst, dst_port) of the wire, whichever end the drag started from."""
        out, inp = (self.origin, target) if self.origin.is_output else (target, self.origin)
        return out.node.node_id, inp.node.node_id, inp.name

    def _check(self, target: PortItem) -> str | None:
        if target.is_output == self.origin.is_output:
            return "drag from an output (right side) to an input (left side)"
        src, dst, port = self._ends(target)
        return self.scene.document.connection_problem(self.scene.graph, src, dst, port,
                                                      replace=True)

    def _wired_from(self, target: PortItem) -> str | None:
        """The source of the wire the new one would replace, if that input has one."""
        _src, dst, port = self._ends(target)
        for e in self.scene.document.graph(self.scene.graph).edges:
            if e.dst == dst and e.dst_port == port:
                return e.src
        return None

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
            self._wire.setPath(wire_path(start, end, self.scene.flow))
        else:
            self._wire.setPath(wire_path(end, start, self.scene.flow))
        if target is not self.target:
            self.target = target
            self.problem = self._check(target) if target is not None else None
            self._style(None if target is None else self.problem is None)
            if self.problem:
                self.scene.message_posted.emit(f"Cannot connect: {self.problem}")
            elif target is not None and (old := self._wired_from(target)) is not None:
                self.scene.message_posted.emit(f"Release to replace the wire from {old}")

    def release(self, pos: QPointF) -> None:
        """End the drag: connect when over a port that accepts the wire, else say why not."""
        self.move(pos)
        self.cancel()
        if self.target is None:
            return
        if self.problem:
            self.scene.refuse(f"Cannot connect: {self.problem}", pos)
            return
        src, dst, port = self._ends(self.target)
        old = self.scene.document.connect(self.scene.graph, src, dst, port, replace=True)
        self.scene.message_posted.emit(f"Connected {src} to {dst}" +
                                       (f".{port}" if port != "in" else "") +
                                       (f" instead of {old}" if old else ""))

    def cancel(self) -> None:
        if self._wire.scene() is not None:
            self.scene.removeItem(self._wire)
        self.end()


class PanTool(CanvasTool):
    """Drag the canvas (middle button, or Space and the left button). Esc puts the view
    back where the drag began."""

    def __init__(self, view: GraphView) -> None:
        super().__init__()
        self.view = view
        self._last = QPointF()
        self._start = (0, 0)

    def _scrolled(self) -> tuple[int, int]:
        return self.view.horizontalScrollBar().value(), self.view.verticalScrollBar().value()

    def press(self, pos: QPointF) -> None:
        self._last = pos
        self._start = self._scrolled()
        self.view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, pos: QPointF) -> None:
        delta = pos - self._last
        self._last = pos
        self.view.scroll_by(-round(delta.x()), -round(delta.y()))

    def cancel(self) -> None:
        (x0, y0), (x, y) = self._start, self._scrolled()
        self.view.scroll_by(x0 - x, y0 - y)
        self.end()

    def end(self) -> None:
        super().end()
        self.view.show_idle_cursor()
