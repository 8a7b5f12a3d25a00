"""HistogramPlot: counts per bin, drawn as filled steps (tokens per text, seconds per clip)
in the palette of the moment, with the axes named."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget

from app.panels.dataset_text import Histogram
from app.widgets.plot_style import style_plot

PLOT_HEIGHT = 190


class HistogramPlot(pg.PlotWidget):
    """One histogram of a preview (``show_histogram``); ``shown`` holds what is drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, enableMenu=False)
        self.setFixedHeight(PLOT_HEIGHT)  # the panel scrolls; a plot never grows into it
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        self.setMouseEnabled(x=False, y=False)
        self.shown: Histogram | None = None

    def show_histogram(self, hist: Histogram | None, x_label: str, y_label: str) -> None:
        """Draw ``hist`` (None: clear) with the bottom and left axes named."""
        item = self.getPlotItem()
        item.clear()
        self.shown = hist
        style_plot(self)
        if hist is None:
            return
        accent = QGuiApplication.palette().color(QPalette.ColorRole.Highlight)
        fill = QColor(accent)
        fill.setAlpha(110)
        item.addItem(pg.PlotDataItem(np.asarray(hist.edges, dtype=float),
                                     np.asarray(hist.counts, dtype=float), stepMode="center",
                                     fillLevel=0, pen=pg.mkPen(accent), brush=pg.mkBrush(fill)))
        item.setLabel("bottom", x_label)
        item.setLabel("left", y_label)
        item.autoRange()
