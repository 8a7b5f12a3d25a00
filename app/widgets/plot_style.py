"""style_plot: a pyqtgraph plot in the application palette's colours."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication, QPalette


def style_plot(plot: Any) -> None:
    """Give a pyqtgraph PlotWidget the application palette's colours (theme-following)."""
    pal = QGuiApplication.palette()
    plot.setBackground(pal.color(QPalette.ColorRole.Base))
    text = pal.color(QPalette.ColorRole.Text)
    item = plot.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(text)
        axis.setTextPen(text)
    item.titleLabel.setAttr("color", text.name())
    item.titleLabel.setText(item.titleLabel.text)
    item.showGrid(x=True, y=True, alpha=0.15)
