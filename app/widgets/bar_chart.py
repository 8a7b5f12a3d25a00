"""BarChart: horizontal bars with a name and a count each (a dataset's class counts)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


class BarChart(QWidget):
    """Horizontal bars with a name and a count each (class counts); names are painted as
    plain text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[tuple[str, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_items(self, items: list[tuple[str, float]]) -> None:
        self.items = list(items)
        self.setFixedHeight(max(1, len(self.items)) * 18 + 6 if self.items else 0)
        self.update()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt override
        if not self.items:
            return
        p = QPainter(self)
        pal = self.palette()
        fm = p.fontMetrics()
        name_w = min(self.width() // 3, max(fm.horizontalAdvance(n) for n, _ in self.items) + 8)
        count_w = fm.horizontalAdvance("0000000") + 6
        top = max(c for _, c in self.items) or 1
        bar_w = max(10, self.width() - name_w - count_w - 4)
        accent = pal.color(QPalette.ColorRole.Highlight)
        text = pal.color(QPalette.ColorRole.WindowText)
        for i, (name, count) in enumerate(self.items):
            y = 3 + i * 18
            p.setPen(text)
            shown = fm.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6)
            p.drawText(QRectF(0, y, name_w - 6, 16), Qt.AlignmentFlag.AlignRight
                       | Qt.AlignmentFlag.AlignVCenter, shown)
            w = bar_w * count / top
            p.fillRect(QRectF(name_w, y + 2, w, 12), QColor(accent))
            p.drawText(QRectF(name_w + w + 4, y, count_w, 16), Qt.AlignmentFlag.AlignVCenter,
                       str(count))
        p.end()
