"""The loss parts' curves of the live plots (segmentation's cross-entropy and Dice,
detection's heatmap, size and offset): one dotted curve per part in the loss plot, made
the first time the run reports the part, in the order it did, each named in the legend."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem

from app.panels.plot_data import window_bounds
from app.runs.history import RunHistory
from app.runs.series import Bounds

#: the parts' colours, apart from the loss's and the overlays'
PART_COLORS = ("#b07aa1", "#9c755f", "#76b7b2", "#edc948", "#ff9da7", "#59a14f")


class LossPartCurves:
    """The curves of one history's loss parts in ``plot``."""

    def __init__(self, plot: pg.PlotItem, history: RunHistory) -> None:
        self.plot = plot
        self.history = history
        self.curves: dict[str, pg.PlotDataItem] = {}

    def get(self, name: str) -> pg.PlotDataItem | None:
        return self.curves.get(name)

    def curve(self, name: str) -> pg.PlotDataItem:
        """The curve of part ``name``, made (with any other new part) when first asked."""
        for part in self.history.parts:
            if part not in self.curves:
                color = PART_COLORS[len(self.curves) % len(PART_COLORS)]
                item = self.plot.plot(
                    [], [], pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine),
                    symbol="s", symbolSize=5, symbolBrush=color, symbolPen=None, name=part)
                for piece in (item.curve, item.scatter):  # changes once an epoch
                    piece.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                self.curves[part] = item
        return self.curves[name]

    def bounds(self, window: tuple[float, float] | None) -> Bounds:
        """The bounds of the parts shown (a part hidden from the legend no longer
        stretches the loss axis)."""
        out = Bounds()
        for name, b in self.history.parts.items():
            item = self.curves.get(name)
            if item is not None and item.isVisible():
                out.merge(window_bounds(b.x, b.y, window, b.bounds))
        return out

    def clear(self) -> None:
        """Remove every part's curve (and its legend entry): a new run starts."""
        for item in self.curves.values():
            self.plot.removeItem(item)
        self.curves.clear()

    def names(self) -> list[str]:
        return list(self.curves)
