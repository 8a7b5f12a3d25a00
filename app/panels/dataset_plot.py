"""DataPlot: what the dataset preview draws of tabular data: 2-D samples as a scatter
coloured by class, or a histogram of a regression target, with the legend in a row of its
own above the plot (it never covers the points)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.widgets.plot_style import class_color, style_plot

MAX_BINS = 40  # a histogram of many targets stays readable in a narrow dock
POINT_SIZE = 5


class DataPlot(pg.GraphicsLayoutWidget):
    """A plot of a dataset preview's numbers: ``show_points`` or ``show_histogram``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(260)
        self.legend = pg.LegendItem(colCount=4)  # not anchored: a layout row of its own
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.addItem(self.legend, row=0, col=0)
        self.item: pg.PlotItem = self.addPlot(row=1, col=0, enableMenu=False)
        self.item.setMenuEnabled(False)
        self.item.hideButtons()
        self.item.legend = self.legend  # named items list themselves in the legend
        #: what is drawn: "points", "histogram" or "" (nothing)
        self.shown = ""

    def clear_plot(self) -> None:
        self.item.clear()  # also empties the legend
        self.legend.hide()
        self.shown = ""

    def _restyle(self) -> None:
        style_plot(self, self.item)  # the palette of the moment: a theme change is followed
        self.legend.setLabelTextColor(QGuiApplication.palette().color(QPalette.ColorRole.Text))

    def show_points(self, points: Any, classes: Any, names: list[str]) -> None:
        """Samples ``points`` [n, 2] coloured by their class index ``classes`` [n]."""
        self.clear_plot()
        self._restyle()
        points, classes = np.asarray(points, dtype=float), np.asarray(classes)
        for k, name in enumerate(names):
            mine = points[classes == k]
            if not len(mine):
                continue
            color = class_color(k)
            self.item.addItem(pg.ScatterPlotItem(
                mine[:, 0], mine[:, 1], size=POINT_SIZE, pen=None, brush=pg.mkBrush(color),
                name=name))
        self.legend.show()
        self.item.setLabel("bottom", "x0")
        self.item.setLabel("left", "x1")
        self.item.autoRange()
        self.shown = "points"

    def show_histogram(self, values: Any) -> None:
        """How many samples have each value of a regression target."""
        self.clear_plot()
        self._restyle()
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            return
        bins = min(MAX_BINS, len(np.histogram_bin_edges(values, bins="auto")) - 1)
        counts, edges = np.histogram(values, bins=max(1, bins))
        accent = QGuiApplication.palette().color(QPalette.ColorRole.Highlight)
        fill = QColor(accent)
        fill.setAlpha(110)
        self.item.addItem(pg.PlotDataItem(edges, counts, stepMode="center", fillLevel=0,
                                          pen=pg.mkPen(accent), brush=pg.mkBrush(fill)))
        self.item.setLabel("bottom", "target")
        self.item.setLabel("left", "samples")
        self.item.autoRange()
        self.shown = "histogram"
