"""DrawPad: a square to draw on with the mouse, for models of small grayscale pictures
(handwritten digits, simple shapes).

The drawing is kept on a grey image of :data:`RESOLUTION` pixels a side, light strokes on
black as digit data sets have them (dark on white for data drawn that way:
:meth:`DrawPad.set_dark_ink`), and handed over as a uint8 numpy array when a stroke
ends (``drawn(array)``); the model's own preprocessing scales it to its input size, so a
pad is the same whatever the model's size. The pen is a tenth of the side: a digit drawn
with it has strokes as thick, relative to the picture, as the training digits'.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: side of the image the strokes are drawn on (pixels)
RESOLUTION = 140
#: the pen's width as a share of the side
PEN_SHARE = 0.1
#: the side the pad asks for on screen
SIDE = 224


class DrawPad(QWidget):
    """Draw with the left mouse button; ``drawn(array)`` (uint8 [RESOLUTION, RESOLUTION])
    when the button is released after a stroke. :meth:`clear` wipes it (``cleared``)."""

    drawn = Signal(object)
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage(RESOLUTION, RESOLUTION, QImage.Format.Format_Grayscale8)
        self.ground, self.ink = 0, 255
        self.image.fill(self.ground)
        self._last: QPointF | None = None  # the stroke's last point, image pixels
        self._empty = True
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw with the mouse; the model answers when you let go")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(SIDE, SIDE)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(SIDE, SIDE)

    # -- the drawing -------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self._empty

    def array(self) -> Any:
        """The drawing as a uint8 numpy array [RESOLUTION, RESOLUTION] (a copy)."""
        import numpy as np

        img = self.image
        rows = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(
            img.height(), img.bytesPerLine())
        return rows[:, : img.width()].copy()

    def set_dark_ink(self, dark: bool) -> None:
        """Dark strokes on a white ground (True) or light on black; clears the pad."""
        self.ground, self.ink = (255, 0) if dark else (0, 255)
        self.clear()

    def clear(self) -> None:
        self.image.fill(self.ground)
        self._empty = True
        self._last = None
        self.update()
        self.cleared.emit()

    def stroke(self, points: list[tuple[float, float]]) -> None:
        """Draw a stroke through ``points`` (fractions of the side, 0..1) and hand the
        drawing over, as a mouse stroke does (scripts and tests)."""
        side = RESOLUTION
        for i, (x, y) in enumerate(points):
            p = QPointF(x * side, y * side)
            self._line(p if i == 0 else self._last or p, p)
            self._last = p
        self._last = None
        self.drawn.emit(self.array())

    # -- mouse ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return
        p = self._to_image(event.position())
        self._last = p
        self._line(p, p)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._last is None:
            return
        p = self._to_image(event.position())
        self._line(self._last, p)
        self._last = p

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton or self._last is None:
            return
        self._line(self._last, self._to_image(event.position()))
        self._last = None
        self.drawn.emit(self.array())

    # -- helpers -----------------------------------------------------------------------
    def _square(self) -> QRectF:
        """Where the image is painted: the largest centred square."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_image(self, pos: QPointF) -> QPointF:
        r = self._square()
        scale = RESOLUTION / max(r.width(), 1.0)
        return QPointF((pos.x() - r.x()) * scale, (pos.y() - r.y()) * scale)

    def _line(self, a: QPointF, b: QPointF) -> None:
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor(self.ink, self.ink, self.ink), RESOLUTION * PEN_SHARE)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.drawLine(a, b)
        painter.end()
        self._empty = False
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        r = self._square()
        painter.drawImage(r, self.image)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(r.adjusted(0, 0, -1, -1))
        if self._empty:
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, "Draw here")
        painter.end()
