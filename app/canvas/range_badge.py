"""The "sweep" pill of a block with search ranges (``Project.sweep.ranges``): drawn at the
bottom right of the block's body, its tooltip lists the fields and what a sweep tries."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.document.sweep_keys import describe_spec
from app.text import plain_tooltip

SWEEP = {"light": "#8250df", "dark": "#a371f7"}  # readable on each theme, unlike the problems'


class RangeBadge(QGraphicsItem):
    H = 14.0
    _font: QFont | None = None

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.text = "sweep"
        self.setAcceptHoverEvents(True)

    @classmethod
    def font(cls) -> QFont:
        if cls._font is None:
            cls._font = QFont()
            cls._font.setPointSizeF(max(6.5, cls._font.pointSizeF() - 2.0))
        return cls._font

    def set_ranges(self, ranges: tuple[tuple[str, str], ...]) -> None:
        """``ranges``: (field, spec) pairs, in the project's order."""
        self.prepareGeometryChange()
        self.text = "sweep" if len(ranges) == 1 else f"sweep ×{len(ranges)}"
        lines = [f"{name}: {describe_spec(spec)}" for name, spec in ranges]
        self.setToolTip(plain_tooltip("Search ranges (a sweep tries these):\n"
                                      + "\n".join(lines)))
        self.update()

    def boundingRect(self) -> QRectF:
        w = QFontMetricsF(self.font()).horizontalAdvance(self.text) + 10
        return QRectF(-w, -self.H / 2, w, self.H)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        theme = getattr(self.scene(), "theme", None)
        name = getattr(theme, "name", "light")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.boundingRect()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(SWEEP.get(name, SWEEP["light"])))
        painter.drawRoundedRect(r, self.H / 2, self.H / 2)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(self.font())
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, self.text)
