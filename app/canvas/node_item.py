"""A block on the canvas: name, type, key params, output shape, ports and a problem badge.

Items only paint what the scene hands them in a ``NodeView``; they never change the
document, and read one thing from their scene's document themselves: the sweep's search
ranges on the block (a "sweep" pill whose tooltip lists them), refreshed whenever the scene
hands a view (the document says ``analysis_updated`` when a graph's ranges change). All text is drawn with ``drawText`` (plain text, never rich text), elided once
when the view changes rather than on every paint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.canvas.range_badge import RangeBadge
from app.document.sweep_keys import block_ranges
from app.text import plain_tooltip
from app.theme import Theme, family_color
from engine.layout.geometry import (
    HEADER,
    LINE,
    WIDTH,
    Flow,
    Rect,
    input_offset,
    node_height,
    output_offset,
)

if TYPE_CHECKING:
    from app.canvas.edge_item import EdgeItem

PORT_R = 5.0
PAD = 9.0
GRID = 20.0
TEXT_ZOOM = 0.35  # below this zoom a block's text is too small to read: it is not drawn


@dataclass(frozen=True, slots=True)
class NodeView:
    """Everything a NodeItem shows, computed by the scene from the node and its analysis."""

    title: str
    type_name: str
    family: str
    summary: str = ""
    shape: str = ""
    params: str = ""
    inputs: tuple[str, ...] = ("in",)
    has_output: bool = True
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: a Group node: drawn as a stack of cards; double-click opens its graph
    composite: bool = False
    #: trainable is off: hatched and dimmed, with a snowflake in the header
    frozen: bool = False


STACK = 4.0  # how far the card behind a composite block shows
ICE = {"light": "#1f6feb", "dark": "#79c0ff"}  # the frozen mark, readable on each theme

__all__ = ["GRID", "TEXT_ZOOM", "WIDTH", "NodeItem", "NodeView", "PortItem", "node_height"]


class _Fonts:
    """Shared fonts and metrics, made on first use (a QFont needs the application), and a
    cache of elided strings: shapes and types repeat across blocks, and eliding is the
    costly part of showing a block's new analysis."""

    title: QFont | None = None
    small: QFont | None = None
    tiny: QFont | None = None  # wire labels: they must fit between two blocks
    metrics: dict[bool, QFontMetricsF] = {}
    tiny_metrics: QFontMetricsF | None = None
    _elided: dict[tuple[bool, str, float], str] = {}

    @classmethod
    def get(cls) -> tuple[QFont, QFont]:
        if cls.title is None or cls.small is None:
            cls.title = QFont()
            cls.title.setBold(True)
            cls.small = QFont()
            cls.small.setPointSizeF(max(7.0, cls.small.pointSizeF() - 1.0))
            cls.tiny = QFont()
            cls.tiny.setPointSizeF(max(6.5, cls.tiny.pointSizeF() - 2.0))
            cls.metrics = {True: QFontMetricsF(cls.title), False: QFontMetricsF(cls.small)}
            cls.tiny_metrics = QFontMetricsF(cls.tiny)
        return cls.title, cls.small

    @classmethod
    def elide(cls, text: str, width: float, bold: bool = False) -> str:
        key = (bold, text, width)
        out = cls._elided.get(key)
        if out is None:
            cls.get()
            if len(cls._elided) > 20_000:
                cls._elided.clear()
            out = cls._elided[key] = cls.metrics[bold].elidedText(
                text, Qt.TextElideMode.ElideRight, width)
        return out

    @classmethod
    def width(cls, text: str) -> float:
        cls.get()
        return cls.metrics[False].horizontalAdvance(text)


def scene_theme(item: QGraphicsItem) -> Theme:
    return item.scene().theme  # type: ignore[union-attr]


class PortItem(QGraphicsItem):
    """An input (left side, or top when the graph flows down) or the output (right side,
    or bottom)."""

    def __init__(self, parent: NodeItem, name: str, is_output: bool) -> None:
        super().__init__(parent)
        self.name = name
        self.is_output = is_output
        self._hover = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip(plain_tooltip("output (drag to an input)" if is_output
                                      else f"input {name}"))

    @property
    def node(self) -> NodeItem:
        return self.parentItem()  # type: ignore[return-value]

    def boundingRect(self) -> QRectF:
        r = PORT_R + 4  # a generous target: ports are small
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = scene_theme(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(t.color("highlight") if self._hover else t.color("edge"), 1.6))
        painter.setBrush(t.color("highlight") if self._hover else t.color("port_fill"))
        r = PORT_R + (1.5 if self._hover else 0.0)
        painter.drawEllipse(QPointF(0, 0), r, r)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = False
        self.update()


class BadgeItem(QGraphicsItem):
    """A red (error), amber (warning) or grey (cannot export) dot whose tooltip says why."""

    R = 8.0

    def __init__(self, parent: NodeItem) -> None:
        super().__init__(parent)
        self.severity = "error"
        self.setAcceptHoverEvents(True)

    def boundingRect(self) -> QRectF:
        return QRectF(-self.R, -self.R, 2 * self.R, 2 * self.R)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = scene_theme(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(t.color("node_fill"), 1.5))
        painter.setBrush(t.color({"error": "error", "export": "subtext"}.get(self.severity,
                                                                             "warning")))
        painter.drawEllipse(self.boundingRect().adjusted(1, 1, -1, -1))
        pen = QPen(QColor("#ffffff"), 2.0)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawLine(QPointF(0, -3.5), QPointF(0, 1))
        painter.drawPoint(QPointF(0, 4))


class NodeItem(QGraphicsItem):
    def __init__(self, node_id: str, view: NodeView, flow: Flow = "right") -> None:
        super().__init__()
        self.node_id = node_id
        self.view = view
        self.flow: Flow = flow
        self.edges: set[EdgeItem] = set()
        self.inputs: dict[str, PortItem] = {}
        self.output: PortItem | None = None
        self._height = node_height(len(view.inputs))
        self._text: tuple[str, str, str, str] = ("", "", "", "")
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.badge = BadgeItem(self)
        self.badge.setPos(WIDTH - 4, 4)
        self.export_badge: BadgeItem | None = None  # made on first use: rarely needed
        self.range_badge: RangeBadge | None = None  # likewise
        #: the run's health dot, attached by app/canvas/health_badge.py (None: no statistics)
        self.health_badge: QGraphicsItem | None = None
        self.ranges: tuple[tuple[str, str], ...] = ()  # (field, spec) of its search ranges
        self._build_ports()
        self._apply_view()

    # -- data ------------------------------------------------------------------------
    def set_view(self, view: NodeView) -> bool:
        """Show new data; returns True when the ports moved (attached wires must follow)."""
        self._sync_ranges()
        if view == self.view:
            return False
        old = self.view
        ports_changed = (view.inputs, view.has_output) != (old.inputs, old.has_output)
        self.view = view
        if ports_changed:
            self.prepareGeometryChange()
            self._height = node_height(len(view.inputs))
            self._build_ports()
            self._place_range_badge()
        self._apply_view(old)
        return ports_changed

    def set_flow(self, flow: Flow) -> bool:
        """Put the ports where ``flow`` wants them; True when they moved."""
        if flow == self.flow:
            return False
        self.flow = flow
        self._build_ports()
        return True

    def block_rect(self) -> Rect:
        """The block's body in scene coordinates (what a wire must not pass under)."""
        p = self.pos()
        return Rect(p.x(), p.y(), p.x() + WIDTH, p.y() + self._height)

    def set_export_issue(self, reason: str) -> None:
        """Flag a block that cannot be exported (e.g. to ONNX) with a grey badge at the
        bottom right, whose tooltip gives ``reason``; an empty reason removes the flag."""
        if self.export_badge is None:
            if not reason:
                return
            self.export_badge = BadgeItem(self)
            self.export_badge.severity = "export"
        self.export_badge.setPos(WIDTH - 4, self._height - 4)  # the height follows the ports
        self.export_badge.setVisible(bool(reason))
        self.export_badge.setToolTip(plain_tooltip(reason) if reason else "")

    def set_ranges(self, ranges: tuple[tuple[str, str], ...]) -> None:
        """Show the block's search ranges ((field, spec) pairs; none hides the pill)."""
        if ranges == self.ranges:
            return
        self.ranges = ranges
        if self.range_badge is None:
            if not ranges:
                return
            self.range_badge = RangeBadge(self)
        self.range_badge.setVisible(bool(ranges))
        if ranges:
            self.range_badge.set_ranges(ranges)
            self._place_range_badge()

    def _sync_ranges(self) -> None:
        scene = self.scene()
        document, graph = getattr(scene, "document", None), getattr(scene, "graph", None)
        if document is not None and isinstance(graph, str):
            project = document.project
            self.set_ranges(tuple(block_ranges(project, graph, self.node_id))
                            if project.sweep.ranges else ())

    def _place_range_badge(self) -> None:
        if self.range_badge is not None:  # right of the params line, clear of a corner badge
            self.range_badge.setPos(WIDTH - 16, min(HEADER + 4 + 2.5 * LINE, self._height - 10))

    def input_anchor(self, port: str) -> QPointF:
        item = self.inputs.get(port)
        if item is not None:
            return item.scenePos()
        return self.mapToScene(QPointF(*input_offset(self.flow, 0, 1, self._height)))

    def output_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(*output_offset(self.flow, self._height)))

    def _build_ports(self) -> None:
        for item in [*self.inputs.values(), *([self.output] if self.output else [])]:
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.inputs = {}
        n = len(self.view.inputs)
        for i, name in enumerate(self.view.inputs):
            port = PortItem(self, name, is_output=False)
            port.setPos(QPointF(*input_offset(self.flow, i, n, self._height)))
            self.inputs[name] = port
        self.output = None
        if self.view.has_output:
            self.output = PortItem(self, "out", is_output=True)
            self.output.setPos(QPointF(*output_offset(self.flow, self._height)))

    def _apply_view(self, old: NodeView | None = None) -> None:
        v = self.view
        room = WIDTH - 2 * PAD
        detail = v.type_name + (f" · {v.summary}" if v.summary else "")
        params = f"{v.params} params" if v.params else ""
        title_room = room - (26 if v.frozen else 10)  # the snowflake takes the header's end
        self._text = (_Fonts.elide(v.title, title_room, bold=True), _Fonts.elide(detail, room),
                      _Fonts.elide(v.shape or "—", room), params)
        # Tooltips cost more than the rest: set them only when their text changes.
        if old is None or (old.errors, old.warnings) != (v.errors, v.warnings):
            problems = [*v.errors, *v.warnings]
            self.badge.setVisible(bool(problems))
            self.badge.severity = "error" if v.errors else "warning"
            self.badge.setToolTip(plain_tooltip("\n".join(problems)) if problems else "")
            self.badge.update()
        if old is None or (old.title, old.type_name, old.composite, old.frozen) != (
                v.title, v.type_name, v.composite, v.frozen):
            what = f"composite block {v.type_name}" if v.composite else v.type_name
            tip = f"{v.title} ({what})"
            if v.composite:
                tip += "\nDouble-click to open its graph"
            if v.frozen:
                tip += "\nFrozen: its weights do not train"
            self.setToolTip(plain_tooltip(tip))
        if old is not None and old.composite != v.composite:
            self.prepareGeometryChange()
        self.update()

    # -- painting --------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        extra = STACK if self.view.composite else 0.0
        return QRectF(-2, -2, WIDTH + 4 + extra, self._height + 4 + extra)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = scene_theme(self)
        v = self.view
        rect = QRectF(0, 0, WIDTH, self._height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = family_color(v.family)
        border = (t.color("highlight") if self.isSelected()
                  else t.color("error") if v.errors else t.color("node_border"))
        if v.composite:  # a card behind the block: it holds a graph of blocks
            painter.setPen(QPen(t.color("node_border"), 1.0))
            painter.setBrush(t.color("node_fill"))
            painter.drawRoundedRect(rect.translated(STACK, STACK), 6, 6)
        painter.setPen(QPen(border, 2.0 if self.isSelected() or v.errors else 1.0))
        painter.setBrush(t.color("node_fill"))
        painter.drawRoundedRect(rect, 6, 6)
        if v.frozen:
            self._paint_frozen(painter, rect, t)
        head = QPainterPath()
        head.addRoundedRect(rect.adjusted(1, 1, -1, 0), 5, 5)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, WIDTH, HEADER))
        tint = QColor(accent)
        tint.setAlpha(70 if t.name == "dark" else 38)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tint)
        painter.drawPath(head.intersected(clip))
        painter.setBrush(accent)
        painter.drawRoundedRect(QRectF(1, 1, 4, HEADER - 1), 2, 2)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < TEXT_ZOOM:
            return  # too small to read: skip the text
        title_font, small_font = _Fonts.get()
        title, detail, shape, params = self._text
        painter.setPen(t.color("text"))
        painter.setFont(title_font)
        painter.drawText(QRectF(PAD + 2, 0, WIDTH - 2 * PAD, HEADER),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        painter.setFont(small_font)
        painter.setPen(t.color("subtext"))
        line1 = QRectF(PAD + 2, HEADER + 4, WIDTH - 2 * PAD, LINE)
        painter.drawText(line1, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, detail)
        if params:
            painter.drawText(line1.translated(0, 2 * LINE),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, params)
        painter.setPen(t.color("error") if v.errors else t.color("text"))
        painter.drawText(line1.translated(0, LINE),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, shape)

    def _paint_frozen(self, painter: QPainter, rect: QRectF, t: Theme) -> None:
        """Hatching over the body and a snowflake in the header: the weights do not train."""
        ice = QColor(ICE.get(t.name, ICE["light"]))
        hatch = QColor(ice)
        hatch.setAlpha(110 if t.name == "dark" else 80)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(hatch, Qt.BrushStyle.BDiagPattern))
        painter.drawRoundedRect(rect.adjusted(1, HEADER, -1, -1), 5, 5)
        pen = QPen(ice, 1.4)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        centre, r = QPointF(WIDTH - 22, HEADER / 2), 5.0
        for k in range(3):  # three crossing strokes make a six-armed flake
            a = math.pi * k / 3
            d = QPointF(math.cos(a) * r, math.sin(a) * r)
            painter.drawLine(centre - d, centre + d)
        painter.restore()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        scene = self.scene()
        if self.view.composite and hasattr(scene, "open_composite"):
            scene.open_composite(self.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # -- movement --------------------------------------------------------------------
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            if getattr(self.scene(), "snapping", False):
                return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)
        elif change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            scene = self.scene()
            if scene is not None and hasattr(scene, "block_moved"):
                scene.block_moved(self)  # its wires, and wires it now lies on, re-route
            else:
                for edge in self.edges:
                    edge.update_path()
        return super().itemChange(change, value)
