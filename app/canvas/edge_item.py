"""A wire from one block's output to another's input, labelled with the tensor shape."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.node_item import WIDTH, NodeItem, _Fonts, scene_theme
from app.document import EdgeKey
from app.text import plain_tooltip


def compact_shape(text: str) -> str:
    """'[N, 32, 14, 14]' as '32×14×14': short enough to sit between two blocks."""
    inner = text[1:-1].split(", ")[1:] if text.startswith("[N") else [text]
    return "×".join(inner) if inner else "scalar"


SKIP_SPAN = WIDTH + 120  # a wire longer than this on one row would run under other blocks
LIFT = 80.0  # how far above its row such a wire runs (clears the blocks' headers)


def wire_path(p0: QPointF, p1: QPointF) -> QPainterPath:
    """A horizontal S-curve: wires leave outputs rightwards and enter inputs from the left.
    A wire that skips over blocks on its own row (a residual shortcut) arcs above them."""
    path = QPainterPath(p0)
    if p1.x() - p0.x() > SKIP_SPAN and abs(p1.y() - p0.y()) < LIFT:
        top = min(p0.y(), p1.y()) - LIFT
        path.cubicTo(QPointF(p0.x() + 40, p0.y()), QPointF(p0.x() + 30, top),
                     QPointF(p0.x() + 70, top))
        path.lineTo(QPointF(p1.x() - 70, top))
        path.cubicTo(QPointF(p1.x() - 30, top), QPointF(p1.x() - 40, p1.y()), p1)
        return path
    dx = max(40.0, abs(p1.x() - p0.x()) * 0.5)
    path.cubicTo(QPointF(p0.x() + dx, p0.y()), QPointF(p1.x() - dx, p1.y()), p1)
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

    def update_path(self) -> None:
        self.prepareGeometryChange()
        self._ends = (self.src.output_anchor(), self.dst.input_anchor(self.key[3]))
        self._path = wire_path(*self._ends)
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
            self._label_fits = self._ends[1].x() - self._ends[0].x() >= w + 4
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
