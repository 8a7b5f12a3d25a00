"""The history of one block's statistic against the training step (pyqtgraph), with a
chooser for the statistic. Norms and ratios span decades: they are drawn on a log axis
(a value of zero or one that is not finite leaves a gap)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.canvas.health_stats import LOG_STATS, STATS, TITLES, HealthHistory
from app.widgets.plot_style import style_plot

#: what the chooser starts on
DEFAULT_STAT = "update_ratio"


class BlockHistoryPlot(QWidget):
    """``show_block(history, key)`` draws ``key``'s history of the chosen statistic."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: HealthHistory | None = None
        self.key = ""
        self._drawn: tuple[object, ...] = ()
        self._axis = ""
        self.stat_box = QComboBox()
        self.stat_box.setObjectName("HealthStat")
        for stat in STATS:
            self.stat_box.addItem(TITLES[stat], stat)
        self.stat_box.setCurrentIndex(STATS.index(DEFAULT_STAT))
        self.stat_box.setToolTip("The statistic plotted against the training step")
        self.stat_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.stat_box.setMinimumContentsLength(12)  # the dock may be narrow
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setMinimumWidth(40)  # elided by the layout rather than widening the dock
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot = pg.PlotWidget(enableMenu=False)
        self.plot.setMinimumHeight(90)
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setLabel("bottom", "step")
        item.getAxis("left").enableAutoSIPrefix(False)  # a ratio of 1e-3 is not "1 (x0.001)"
        self.curve = pg.PlotDataItem(connect="finite", symbol="o", symbolSize=4)
        self.plot.addItem(self.curve)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.stat_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.stat_box.currentIndexChanged.connect(lambda _i: self.redraw(force=True))
        self.restyle()

    @property
    def stat(self) -> str:
        return str(self.stat_box.currentData())

    def restyle(self) -> None:
        style_plot(self.plot)
        accent = QGuiApplication.palette().color(QPalette.ColorRole.Highlight)
        self.curve.setPen(pg.mkPen(accent, width=2))
        self.curve.setSymbolBrush(accent)
        self.curve.setSymbolPen(None)
        self._drawn, self._axis = (), ""

    def show_block(self, history: HealthHistory | None, key: str) -> None:
        self.history, self.key = history, key
        self.redraw()

    def redraw(self, force: bool = False) -> None:
        """Draw again when the block, the statistic or the history changed."""
        h, key, stat = self.history, self.key, self.stat
        state = (id(h), h.revision if h is not None else -1, key, stat)
        if state == self._drawn and not force:
            return
        if stat != self._axis:  # axes re-lay out when touched: only on a new statistic
            self._axis = stat
            log = stat in LOG_STATS
            self.plot.getPlotItem().setLogMode(False, log)  # the title above names it
        self._drawn = state
        series = h.blocks.get(key) if h is not None and key else None
        log = stat in LOG_STATS
        if series is None:
            self.title.setText("Select a block in the table to see its history")
            self.curve.setData([], [])
            return
        xs, ys = series.series(stat)
        if log:
            ys = [y if y > 0 else math.nan for y in ys]
        name = key.rsplit("/", 1)[-1]
        shown = [y for y in ys if math.isfinite(y)]
        scale = " (log scale)" if log else ""
        self.title.setText(f"{name}: {TITLES[stat]}{scale}" if shown else
                           f"{name}: no {TITLES[stat]} (it does not apply to this block)")
        self.curve.setData(xs if shown else [], ys if shown else [])
        if shown:
            self.plot.getPlotItem().enableAutoRange()
