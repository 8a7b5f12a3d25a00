"""The evaluation panel's regression views: predicted against true, and the residuals
(predicted - true) against true, each a scatter with its reference line (the diagonal, and
zero)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.panels.run_results import Evaluation
from app.widgets.plot_style import style_plot


def regression_plots() -> tuple[pg.PlotWidget, pg.PlotWidget]:
    """The two plots, empty: predicted against true, and the residuals."""
    scatter = pg.PlotWidget(title="Predicted against true", enableMenu=False)
    residuals = pg.PlotWidget(title="Residuals (predicted - true)",
                              enableMenu=False)
    for plot, left_label in ((scatter, "predicted"), (residuals, "residual")):
        plot.setLabel("bottom", "true")
        plot.setLabel("left", left_label)
        plot.setMenuEnabled(False)
        plot.setMinimumHeight(220)
        style_plot(plot)
    return scatter, residuals


def plot_regression(scatter: pg.PlotWidget, residuals: pg.PlotWidget, r: Evaluation) -> None:
    """Draw ``r``'s predictions in the two plots of :func:`regression_plots`."""
    scatter.clear()
    residuals.clear()
    if not r.true:
        return
    brush = pg.mkBrush(47, 111, 222, 140)
    line = pg.mkPen("#888888", style=Qt.PenStyle.DashLine)
    scatter.plot(r.true, r.pred, pen=None, symbol="o", symbolSize=5, symbolBrush=brush,
                 symbolPen=None)
    lo, hi = min(r.true + r.pred), max(r.true + r.pred)
    scatter.plot([lo, hi], [lo, hi], pen=line)
    res = [p - t for p, t in zip(r.pred, r.true, strict=False)]
    residuals.plot(r.true, res, pen=None, symbol="o", symbolSize=5, symbolBrush=brush,
                   symbolPen=None)
    residuals.addLine(y=0, pen=line)
