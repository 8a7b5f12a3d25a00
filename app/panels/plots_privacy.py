"""The live plots' "Privacy spent (ε)" plot: for a differentially private run, the epsilon
its accountant reports at each epoch's end (``Privacy`` events, reduced by the run's
``RunHistory.privacy``), with the target epsilon as a dashed horizontal line.

The plot sits under the learning rate, on the same step axis, and is in the layout only
while a run shown (the live one, or a finished one chosen in Runs) trains privately: other
runs keep the three plots they always had. It has a handful of points per run, so it is
redrawn whole at each Privacy event, without the frame timer the step curves need.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.panels.plot_data import PlainAxis
from app.runs.history import RunHistory
from app.runs.privacy import PrivacyTrack
from app.theme import Theme
from engine.train.events import Event, Privacy, RunStarted

TITLE = "Privacy spent (ε)"
LIVE_COLOR = "#8e44ad"
TARGET_COLOR = "#c0392b"
#: the y axis ends this far above the higher of the target and the epsilon spent
HEADROOM = 1.15
ROW = 4  # under the loss, metric and learning-rate plots (row 0 is the legend)


class PrivacyPlot:
    """The plot of ``live`` (the panel's live run) and of the overlays' tracks. ``plot``
    is added to ``view`` under ``above`` (whose step axis it then carries) when a shown
    run is private, and taken out again when none is."""

    def __init__(self, view: pg.GraphicsLayoutWidget, link: pg.PlotItem, above: pg.PlotItem,
                 live: PrivacyTrack) -> None:
        self.view = view
        self.above = above
        self.live = live
        self.plot = pg.PlotItem(axisItems={side: PlainAxis(side) for side in ("left", "bottom")})
        p = self.plot
        p.setTitle(TITLE, size="9pt")
        p.setLabel("left", "ε")
        p.setLabel("bottom", "step")
        p.getAxis("left").setWidth(60)  # aligned with the plots above
        for axis in ("left", "bottom"):
            p.getAxis(axis).enableAutoSIPrefix(False)
        # linked only while in the layout: a hidden plot outlives the panel's views, and a
        # link from it would reach a deleted view box
        self.link = link
        p.setMouseEnabled(x=True, y=False)
        p.getViewBox().enableAutoRange(y=False)
        self.curve = p.plot([], [], pen=pg.mkPen(LIVE_COLOR, width=2), symbol="o",
                            symbolSize=6, symbolBrush=LIVE_COLOR, symbolPen=None)
        self.overlays: list[tuple[str, PrivacyTrack]] = []
        self._overlay_items: list[pg.PlotDataItem] = []
        self.targets: list[pg.InfiniteLine] = []
        self.text = "#333333"
        self.shown = False

    # -- data in -----------------------------------------------------------------------
    def on_event(self, ev: Event) -> None:
        """The live history took ``ev``: redraw when it was about privacy."""
        if isinstance(ev, RunStarted | Privacy):
            self.refresh()

    def set_overlays(self, runs: dict[str, RunHistory], colors: tuple[str, ...]) -> None:
        """The overlaid runs (name -> history), in the colours of their other curves."""
        for item in self._overlay_items:
            self.plot.removeItem(item)
        self._overlay_items = []
        self.overlays = []
        for i, (_name, h) in enumerate(runs.items()):
            color = colors[i % len(colors)]
            if not h.privacy.private:
                continue
            b = h.privacy.points
            self._overlay_items.append(self.plot.plot(
                b.x.copy(), b.y.copy(), pen=pg.mkPen(color, width=2), symbol="t",
                symbolSize=6, symbolBrush=color, symbolPen=None))
            self.overlays.append((color, h.privacy))
        self.refresh()

    # -- drawing -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Draw the live curve, the target lines and the y range; show the plot while any
        shown run is private."""
        self.curve.setData(self.live.points.x.copy(), self.live.points.y.copy())
        tracks = ([(TARGET_COLOR, self.live)] if self.live.private else []) + self.overlays
        for line in self.targets:
            self.plot.removeItem(line)
        self.targets = []
        seen: set[float] = set()
        top = 0.0
        for color, track in tracks:
            if track.points.n:
                top = max(top, float(track.points.bounds.y1))
            if track.target is None or track.target in seen:
                continue
            seen.add(track.target)
            top = max(top, track.target)
            line = pg.InfiniteLine(
                pos=track.target, angle=0, movable=False,
                pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine),
                label=f"target ε {track.target:g}",
                # under the line at the left, where the spent curve has not climbed yet
                labelOpts={"position": 0.02, "color": color, "anchors": [(0, -0.1), (0, -0.1)]})
            self.plot.addItem(line, ignoreBounds=True)
            self.targets.append(line)
        self.plot.setYRange(0.0, (top or 1.0) * HEADROOM, padding=0)
        self.plot.setTitle(title(tracks[0][1] if tracks else None), size="9pt", color=self.text)
        self._show(bool(tracks))

    def _show(self, on: bool) -> None:
        if on == self.shown:
            return
        self.shown = on
        if on:
            self.view.addItem(self.plot, row=ROW, col=0)
            self.plot.setXLink(self.link)
            self.above.hideAxis("bottom")  # one step axis, at the bottom
        else:
            self.plot.setXLink(None)
            self.view.removeItem(self.plot)
            self.above.showAxis("bottom")

    def set_theme(self, theme: Theme | None) -> None:
        self.text = theme.text if theme else "#333333"
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setPen(pg.mkPen(self.text))
            self.plot.getAxis(axis).setTextPen(pg.mkPen(self.text))
        self.refresh()

    def series(self) -> tuple[list[float], list[float]]:
        """The live curve's points (steps, epsilon)."""
        x, y = self.curve.getData()
        return ([] if x is None else [float(v) for v in x],
                [] if y is None else [float(v) for v in y])

    def target_values(self) -> list[float]:
        """Where the target lines are drawn."""
        return [float(line.value()) for line in self.targets]


def title(track: PrivacyTrack | None) -> str:
    """The plot's title, with what the (first) run shown has spent of its target."""
    if track is None or track.spent is None:
        return TITLE
    of = f" of {track.target:g}" if track.target else ""
    return f"{TITLE}: {track.spent:.2f}{of}"
