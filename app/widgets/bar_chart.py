"""BarChart: horizontal bars with a name and a count each (a dataset's class counts), and
:func:`paint_bars`, its painting, which the Try it panel's probability bars share."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

ROW = 18  # pixels a bar's row takes


class BarChart(QWidget):
    """Horizontal bars with a name and a count each (class counts); names are painted as
    plain text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[tuple[str, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_items(self, items: list[tuple[str, float]]) -> None:
        self.items = list(items)
        self.setFixedHeight(len(self.items) * ROW + 4 if self.items else 0)
        self.update()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt override
        if not self.items:
            return
        top = max(c for _, c in self.items) or 1
        rows = [(name, count / top, str(count)) for name, count in self.items]
        paint_bars(self, rows, ROW, self.fontMetrics().horizontalAdvance("0000000") + 6)


def paint_bars(widget: QWidget, rows: list[tuple[str, float, str]], row_height: int,
               value_width: int, pale_after_first: bool = False) -> None:
    """Paints ``rows`` of (name, fraction, value) on ``widget`` from 2 px down, one per
    ``row_height``: the name right-aligned (elided to a third of the width at most), a bar
    ``fraction`` of the free width long in the accent colour (the rows after the first
    paler when ``pale_after_first``: the likeliest class stands out) and the value after
    it. Shared by :class:`BarChart` and the Try it panel's probability bars."""
    p = QPainter(widget)
    fm = p.fontMetrics()
    pal = widget.palette()
    name_w = min(widget.width() // 3, max(fm.horizontalAdvance(n) for n, _, _ in rows) + 12)
    bar_w = max(10, widget.width() - name_w - value_width)
    accent = QColor(pal.color(QPalette.ColorRole.Highlight))
    pale = QColor(accent)
    pale.setAlpha(110)
    text = pal.color(QPalette.ColorRole.WindowText)
    for i, (name, fraction, value) in enumerate(rows):
        y = 2 + i * row_height
        p.setPen(text)
        shown = fm.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 8)
        p.drawText(QRectF(0, y, name_w - 8, row_height), Qt.AlignmentFlag.AlignRight
                   | Qt.AlignmentFlag.AlignVCenter, shown)
        w = bar_w * min(max(fraction, 0.0), 1.0)
        colour = pale if pale_after_first and i else accent
        p.fillRect(QRectF(name_w, y + 3, max(w, 1.0), row_height - 6), colour)
        p.drawText(QRectF(name_w + w + 6, y, value_width, row_height),
                   Qt.AlignmentFlag.AlignVCenter, value)
    p.end()
