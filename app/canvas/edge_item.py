"""A wire from one block's output to another's input, labelled with the tensor shape.

Its route comes from ``engine.layout.route``: the S-curve when nothing is in the way, else an
orthogonal route around the blocks (a wire never passes under a block).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.node_item import NodeItem, _Fonts, scene_theme
from app.document import EdgeKey
from app.text import plain_tooltip
from engine.layout.geometry import Flow, Point
from engine.layout.route import bends, curve_controls, route_wire


def compact_shape(text: str) -> str:
    """'[N, 32, 14, 14]' as '32×14×14': short enough to sit between two blocks."""
    inner = text[1:-1].split(", ")[1:] if text.startswith("[N") else [text]
    return "×".join(inner) if inner else "scalar"


CORNER = 10.0  # radius of a routed wire's corners


def wire_path(p0: QPointF, p1: QPointF, flow: Flow = "right") -> QPainterPath:
    """The S-curve from an output to an input: out of the output and into the input along
    the flow (rightwards, or downwards)."""
    c0, c1 = curve_controls((p0.x(), p0.y()), (p1.x(), p1.y()), flow)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(*c0), QPointF(*c1), p1)
    return path


def routed_path(points: list[Point]) -> QPainterPath:
    """An orthogonal route through ``points`` with rounded corners."""
    path = QPainterPath(QPointF(*points[0]))
    for i in range(1, len(points) - 1):
        (ax, ay), (bx, by), (cx, cy) = points[i - 1], points[i], points[i + 1]
        d_in = max(abs(bx - ax), abs(by - ay))
        d_out = max(abs(cx - bx), abs(cy - by))
        r = min(CORNER, d_in / 2, d_out / 2)
        if r <= 0.5:
            path.lineTo(bx, by)
            continue
        path.lineTo(bx - (bx - ax) / d_in * r, by - (by - ay) / d_in * r)
        path.quadTo(bx, by, bx + (cx - bx) / d_out * r, by + (cy - by) / d_out * r)
    path.lineTo(QPointF(*points[-1]))
    return path


class EdgeItem(QGraphicsItem):
    def __init__(self, key: EdgeKey, src: NodeItem, dst: NodeItem) -> None:
        super().__init__()
        self.key = key
        self.src = src
        self.dst = dst
        self.label = ""
        self._path = QPainterPath()
        self._ends = (QPointF(), QPointF())
        self._mid = QPointF()
        self._label_rect = QRectF()
        self._label_fits = False
        self._bounds = QRectF()
        self.route: list[Point] = []  # the corners the router chose; two: the plain S-curve
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        src.edges.add(self)
        dst.edges.add(self)
        self.update_path()

    def detach(self) -> None:
        self.src.edges.discard(self)
        self.dst.edges.discard(self)

    def set_label(self, shape: str) -> None:
        """Show the tensor shape that flows along the wire ('' while unknown)."""
        label = compact_shape(shape) if shape else ""
        if label != self.label:
            self.label = label
            src, _, dst, port = self.key
            self.setToolTip(plain_tooltip(f"{src} → {dst}.{port}: {shape or 'shape unknown'}"))
            self.prepareGeometryChange()
            self._place_label()

    @property
    def bends(self) -> int:
        """The corners of the wire's route (0 for the plain S-curve)."""
        return bends(self.route)

    def update_path(self) -> None:
        self.prepareGeometryChange()
        p0, p1 = self.src.output_anchor(), self.dst.input_anchor(self.key[3])
        self._ends = (p0, p1)
        flow = self.src.flow
        scene = self.scene()
        blocks = scene.block_rects() if scene is not None and hasattr(scene, "block_rects") \
            else [self.src.block_rect(), self.dst.block_rect()]
        self.route = route_wire((p0.x(), p0.y()), (p1.x(), p1.y()), flow, blocks)
        self._path = wire_path(p0, p1, flow) if len(self.route) == 2 \
            else routed_path(self.route)
        if len(self.route) > 2:  # on the run across below the source: a lane hugs blocks
            (ax, ay), (bx, by) = self.route[1], self.route[2]
            self._mid = QPointF((ax + bx) / 2, (ay + by) / 2)
        else:
            self._mid = self._path.pointAtPercent(0.5)
        self._place_label()

    def _place_label(self) -> None:
        if self.label:
            _Fonts.get()
            fm = _Fonts.tiny_metrics
            assert fm is not None
            w, h = fm.horizontalAdvance(self.label) + 6, fm.height() + 2
            self._label_rect = QRectF(self._mid.x() - w / 2, self._mid.y() - h / 2, w, h)
            # Between close blocks the label would cover them: then it shows when selected.
            (x0, y0), (x1, y1) = (self._ends[0].x(), self._ends[0].y()), \
                (self._ends[1].x(), self._ends[1].y())
            room = (y1 - y0 - h) if self.src.flow == "down" else (x1 - x0 - w)
            self._label_fits = room >= 4 or len(self.route) > 2
        else:
            self._label_rect = QRectF()
        self._bounds = self._path.boundingRect().united(self._label_rect).adjusted(-4, -4, 4, 4)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)  # easy to click
        return stroker.createStroke(self._path)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = scene_theme(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = t.color("highlight") if self.isSelected() else t.color("edge")
        painter.setPen(QPen(color, 2.4 if self.isSelected() else 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if (not self.label or not (self._label_fits or self.isSelected())
                or option.levelOfDetailFromTransform(painter.worldTransform()) < 0.5):
            return
        bg = QColor(t.canvas)
        bg.setAlpha(225)
        painter.setPen(QPen(t.color("grid_major"), 1))
        painter.setBrush(bg)
        painter.drawRoundedRect(self._label_rect, 4, 4)
        _Fonts.get()
        painter.setFont(_Fonts.tiny)
        painter.setPen(t.color("edge_label"))
        painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)
