"""style_plot: a pyqtgraph plot in the application palette's colours; class_color: one
colour per class, the same in every plot."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QGuiApplication, QPalette

# a categorical palette (Tableau 10) whose colours read on light and dark backgrounds
from engine.palette import CLASS_COLORS


def class_color(index: int) -> QColor:
    """The colour of class ``index`` (the palette repeats past ten classes)."""
    return QColor(CLASS_COLORS[index % len(CLASS_COLORS)])


def style_plot(plot: Any, item: Any = None) -> None:
    """Give a pyqtgraph PlotWidget (or a GraphicsLayoutWidget and its PlotItem ``item``)
    the application palette's colours (theme-following)."""
    pal = QGuiApplication.palette()
    plot.setBackground(pal.color(QPalette.ColorRole.Base))
    text = pal.color(QPalette.ColorRole.Text)
    item = item if item is not None else plot.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(text)
        axis.setTextPen(text)
    item.titleLabel.setAttr("color", text.name())
    item.titleLabel.setText(item.titleLabel.text)
    item.showGrid(x=True, y=True, alpha=0.15)
