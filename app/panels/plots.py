"""Live training plots: loss per step (raw and smoothed) with validation loss per epoch
and the loss's parts per epoch when the task reports them (segmentation's cross-entropy
and Dice, detection's heatmap, size and offset), the task's metric, and the learning rate,
on linked step axes.

The panel draws a live ``RunHistory`` (app/runs/history.py, the one reduction of events
into curves): events only append to its growing numpy buffers, and a ~15 Hz timer pushes
what changed to the curves, so a burst of events costs one repaint. Overlays draw
histories read from run folders by the same reducer. The PlotItems downsample (peak) and
clip to the view, so a curve of 1e5+ points redraws in a few milliseconds.

A long run is shown through a recent window by default (the last RECENT_EPOCHS epochs, at
least RECENT_STEPS steps): the step axis follows the newest point and y ranges over what
is visible; "Whole run" shows everything. A pan or zoom of the user's stops the following
(pyqtgraph turns auto-range off) until a double-click or a toggle of "Whole run". The
legend has a row of its own above the plots, so it never covers a curve.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.panels.plot_data import BoundsSource, LivePlotItem, LiveViewBox, PlainAxis, window_bounds
from app.panels.plot_parts import LossPartCurves
from app.panels.plots_privacy import PrivacyPlot
from app.runs.history import SERIES, RunHistory, is_loss_part
from app.runs.series import Bounds
from app.theme import Theme
from engine.train.events import EpochEnded, Event, RunStarted

FRAME_MS = 66  # each plot is updated at most ~15 times a second
#: a frame is done in halves, half a frame apart: the loss plot, then the others. Each
#: half's setData and repaint (of its own plot only) is one short block of the GUI thread,
#: instead of one block twice as long (plot_data.py says what else keeps frames cheap)
FRAME_HALVES = (frozenset({"loss", "loss_ema", "val_loss"}), frozenset({"metric", "lr"}))
CACHED = QGraphicsItem.CacheMode.DeviceCoordinateCache
#: the recent window spans the last RECENT_EPOCHS epochs of a run, and at least
#: RECENT_STEPS steps (a run's length in epochs is known only once it starts)
RECENT_STEPS = 2000
RECENT_EPOCHS = 20
LEGEND_COLUMNS = 6  # legend entries per row: the live curves and a few overlays on one line
OVERLAY_COLORS = ("#e67e22", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d", "#d35400", "#2c3e50")


class PlotsPanel(QWidget):
    """Signals: ``log_scale_toggled(on)``. ``on_event`` takes every training event into
    ``history``, the live run's RunHistory; ``set_overlays`` shows other runs' histories
    next to it; ``reset`` forgets both (another project)."""

    log_scale_toggled = Signal(bool)

    def __init__(self, theme: Theme | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PlotsPanel")
        self.log_box = QCheckBox("Log scale")
        self.log_box.setToolTip("Logarithmic loss axis")
        self.whole_box = QCheckBox("Whole run")
        self.whole_box.setToolTip("Show every step of the run; off: follow the most recent "
                                  "steps (double-click a plot to follow them again after a "
                                  "zoom)")
        self.readout = QLabel("")
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 6, 0)
        top.addWidget(self.log_box)
        top.addWidget(self.whole_box)
        top.addSpacing(12)
        top.addWidget(self.readout, 1)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(240)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.plots = tuple(
            LivePlotItem(viewBox=LiveViewBox(),
                         axisItems={side: PlainAxis(side) for side in ("left", "bottom")})
            for _ in range(3))
        self.loss_plot, self.metric_plot, self.lr_plot = self.plots
        for row, p in enumerate(self.plots, start=1):  # row 0: the legend
            self.view.addItem(p, row=row, col=0)
        for p, label in zip(self.plots, ("loss", "metric", "lr"), strict=True):
            p.setDownsampling(auto=True, mode="peak")
            p.setClipToView(True)
            p.showGrid(x=False, y=False)
            p.setLabel("left", label)
            p.getAxis("left").setWidth(60)
            for axis in ("left", "bottom"):  # a pixmap blit, redrawn only when the range moves
                p.getAxis(axis).setCacheMode(CACHED)
                # plain tick values: no "(x0.001)" unit prefix that changes the label
                # (and its layout) with the range
                p.getAxis(axis).enableAutoSIPrefix(False)
                p.getAxis(axis).setStyle(maxTickLevel=1, maxTextLevel=1)  # major + minor
            if p is not self.loss_plot:
                p.setXLink(self.loss_plot)
            if p is not self.lr_plot:  # linked x: one step axis, at the bottom
                p.hideAxis("bottom")
        self.lr_plot.setLabel("bottom", "step")
        # a legend inside a plot covers the newest points of the curves sooner or later:
        # it gets a row of its own above the plots (no offset: not anchored to a plot)
        self.legend = pg.LegendItem(colCount=LEGEND_COLUMNS)
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.view.addItem(self.legend, row=0, col=0)
        self.loss_plot.legend = self.legend  # the loss plot's named curves list themselves
        self.recent_steps = float(RECENT_STEPS)
        self.history = RunHistory()
        # shown under the others for a private run only (plots_privacy)
        self.privacy = PrivacyPlot(self.view, self.loss_plot, self.lr_plot, self.history.privacy)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._parts = LossPartCurves(self.loss_plot, self.history)
        self._overlay_items: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []
        self._dirty: set[str] = set()
        self._lines = [pg.InfiniteLine(angle=90, movable=False) for _ in self.plots]
        for p, line in zip(self.plots, self._lines, strict=True):
            p.addItem(line, ignoreBounds=True)
            line.hide()
        self._disposed = False  # after dispose(): every update is ignored
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS // len(FRAME_HALVES))
        self._half = 0
        self._timer.timeout.connect(self._on_timer_timeout)
        self.log_box.toggled.connect(self._on_log_box_toggled)
        self.whole_box.toggled.connect(self._on_whole_box_toggled)
        self.view.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.view.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.set_theme(theme)
        self._overlay_bounds: list[tuple[pg.PlotItem, np.ndarray, np.ndarray, Bounds]] = []
        self._wire_bounds()
        self._set_recent()

    def _wire_bounds(self) -> None:
        """Each plot auto-ranges from the buffers' running bounds (plot_data.LiveViewBox):
        y from its own curves, x from every curve so the linked step axes agree."""
        plot_of = {"loss": self.loss_plot, "loss_ema": self.loss_plot,
                   "val_loss": self.loss_plot, "metric": self.metric_plot, "lr": self.lr_plot}
        live = [self._live_bounds(k) for k in plot_of]
        every = [*live, self._overlay_bounds_of(None)]
        for p in self.plots:
            vb = p.getViewBox()
            vb.y_from_zero = p is not self.metric_plot  # a metric is shown around its values
            vb.y_from_zero_in_window = p is self.lr_plot
            vb.x_sources = every
            vb.lead_sources = live  # a recent window follows the live run, not an overlay
            vb.y_sources = [self._live_bounds(k) for k, q in plot_of.items() if q is p]
            vb.y_sources.append(self._overlay_bounds_of(p))
        self.loss_plot.getViewBox().y_sources.append(self._parts.bounds)

    def _live_bounds(self, key: str) -> BoundsSource:
        empty = Bounds()
        b = self.history.buffers[key]

        def bounds(window: tuple[float, float] | None) -> Bounds:
            if not self._curves[key].isVisible():
                return empty
            return window_bounds(b.x, b.y, window, b.bounds)
        return bounds

    def _overlay_bounds_of(self, plot: pg.PlotItem | None) -> BoundsSource:
        def bounds(window: tuple[float, float] | None) -> Bounds:
            out = Bounds()
            for p, x, y, b in self._overlay_bounds:
                if plot is None or p is plot:
                    out.merge(window_bounds(x, y, window, b))
            return out
        return bounds

    def _set_x_extent(self, extent: tuple[float, float] | None) -> None:
        for p in self.plots:
            p.getViewBox().x_extent = extent
        self._forget_ranges()

    def _forget_ranges(self) -> None:
        for p in self.plots:
            p.getViewBox().forget_held()

    def _set_recent(self) -> None:
        window = None if self.whole_box.isChecked() else self.recent_steps
        for p in self.plots:
            p.getViewBox().recent = window
        self._forget_ranges()

    def follow(self) -> None:
        """Auto-range again after the user's own pan or zoom: the recent window (or the
        whole run) follows the new points again."""
        self.loss_plot.getViewBox().enableAutoRange(x=True, y=True)
        for p in self.plots[1:]:  # x-linked to the loss plot: only their y auto-ranges
            p.getViewBox().enableAutoRange(y=True)
        self._forget_ranges()

    @property
    def following(self) -> bool:
        """Whether the step axis shows a recent window of a run longer than it."""
        vb = self.loss_plot.getViewBox()
        return vb.following and vb.x_auto

    # -- appearance -------------------------------------------------------------------
    def dispose(self) -> None:
        """Stop drawing and empty the scene while Python still holds its items
        (pyqtgraph's own GraphicsView.close); call it once, before the panel is deleted."""
        self._disposed = True
        self._timer.stop()
        self.view.close()

    def set_theme(self, theme: Theme | None) -> None:
        if self._disposed:
            return
        text = theme.text if theme else "#333333"
        accent = theme.highlight if theme else "#2f6fde"
        self.view.setBackground(theme.base if theme else "w")
        for p in self.plots:
            for axis in ("left", "bottom"):
                p.getAxis(axis).setPen(pg.mkPen(text))
                p.getAxis(axis).setTextPen(pg.mkPen(text))
        for line in self._lines:
            line.setPen(pg.mkPen(text, width=1, style=Qt.PenStyle.DashLine))
        backdrop = QColor(theme.base if theme else "#ffffff")
        backdrop.setAlpha(200)
        self.legend.setBrush(backdrop)
        self.legend.setLabelTextColor(text)
        self.privacy.set_theme(theme)
        for _sample, label in self.legend.items:
            label.setText(label.text)  # re-render in the new colour
        self._ensure_curves(accent, text)

    def _ensure_curves(self, accent: str, text: str) -> None:
        specs = {
            "loss": (self.loss_plot, dict(pen=pg.mkPen(accent, width=1), name="loss")),
            # width 1: wider pens cost the raster engine ~10x on long curves
            "loss_ema": (self.loss_plot, dict(pen=pg.mkPen(text, width=1), name="smoothed")),
            "val_loss": (self.loss_plot, dict(pen=pg.mkPen("#27ae60", width=2), symbol="o",
                                              symbolSize=6, symbolBrush="#27ae60",
                                              name="val loss")),
            "metric": (self.metric_plot, dict(pen=pg.mkPen("#27ae60", width=2), symbol="o",
                                              symbolSize=6, symbolBrush="#27ae60")),
            "lr": (self.lr_plot, dict(pen=pg.mkPen(accent, width=1))),
        }
        for key, (plot, opts) in specs.items():
            curve = self._curves.get(key)
            if curve is None:
                self._curves[key] = plot.plot([], [], **opts)
            else:
                curve.setPen(opts["pen"])
        self._curves["loss"].setOpacity(0.45)
        for key in ("val_loss", "metric"):  # change once an epoch: drawn from a pixmap
            for part in (self._curves[key].curve, self._curves[key].scatter):
                part.setCacheMode(CACHED)

    # -- data in ----------------------------------------------------------------------
    def on_event(self, ev: Event) -> None:
        """Take one training event; the curves follow at the next frame."""
        if self._disposed:
            return
        metric = self.history.metric
        self._dirty |= self.history.add(ev)
        self.privacy.on_event(ev)
        match ev:
            case RunStarted(resumed_from=resumed, total_steps=total, steps_per_epoch=spe):
                if not resumed:  # the history started over: so do the curves, now
                    self._show_cleared()
                self.recent_steps = float(max(RECENT_STEPS, RECENT_EPOCHS * spe))
                self._set_recent()
                self._set_x_extent((0.0, float(total)) if total > 0 else None)
            case EpochEnded() if self.history.metric != metric:
                self.metric_plot.setLabel("left", self.history.metric)
        if self._dirty and not self._timer.isActive():
            self._timer.start()

    def clear_live(self) -> None:
        """Forget the live run's curves (a new run starts)."""
        self.history.clear()
        self._dirty |= set(SERIES)
        self._show_cleared()

    def reset(self) -> None:
        """Forget everything shown (another project was opened): the live run, the
        overlays, the run's length and the held and zoomed axis ranges."""
        if self._disposed:
            return
        self.set_overlays({})
        self.clear_live()
        self.recent_steps = float(RECENT_STEPS)
        self._set_recent()
        self.follow()
        for line in self._lines:
            line.hide()
        self.readout.setText("")

    def _show_cleared(self) -> None:
        self._parts.clear()
        # a part of the previous run may still wait for a frame: it has no points now
        self._dirty = {k for k in self._dirty if k in self._curves or k in self.history.parts}
        self.metric_plot.setLabel("left", "metric")
        self.privacy.refresh()
        self._set_x_extent(None)
        self.flush()

    def flush(self) -> None:
        """Push every pending point to the curves now (the timer does it in halves)."""
        for key in self._dirty:
            self._curve(key).setData(*self.history.series(key))
        self._dirty.clear()

    def _curve(self, key: str) -> pg.PlotDataItem:
        """The curve drawing ``key``: a SERIES key's, or a loss part's."""
        curve = self._curves.get(key)
        return curve if curve is not None else self._parts.curve(key)

    def _on_timer_timeout(self) -> None:
        if not self._dirty:
            self._timer.stop()  # idle: no wake-ups while nothing arrives
            return
        half = FRAME_HALVES[self._half]
        if self._half == 0:  # the loss parts are drawn with the loss plot
            half = half | {k for k in self._dirty if is_loss_part(k)}
        self._half = (self._half + 1) % len(FRAME_HALVES)
        for key in half & self._dirty:
            self._curve(key).setData(*self.history.series(key))
        self._dirty -= half

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The points a live curve holds: ``loss``, ``loss_ema``, ``val_loss``, ``metric``,
        ``lr`` or a loss part's name (as given to the PlotDataItem)."""
        curve = self._curves.get(key)
        if curve is None:
            curve = self._parts.get(key)
        if curve is None:
            return np.zeros(0), np.zeros(0)
        x, y = curve.getOriginalDataset()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    @property
    def metric_name(self) -> str | None:
        return self.history.metric

    def part_names(self) -> list[str]:
        """The loss parts drawn, in the order they appeared."""
        return self._parts.names()

    # -- overlays ---------------------------------------------------------------------
    def set_overlays(self, runs: dict[str, RunHistory]) -> None:
        """Show these runs' curves (name -> history) beside the live run."""
        if self._disposed:
            return
        for plot, item in self._overlay_items:
            plot.removeItem(item)  # the loss plot takes its items out of the legend too
        self._overlay_items = []
        self._overlay_bounds = []
        for i, (name, h) in enumerate(runs.items()):
            color = OVERLAY_COLORS[i % len(OVERLAY_COLORS)]
            pen = pg.mkPen(color, width=2)
            dashed = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine)
            symbols = dict(symbol="t", symbolSize=6, symbolBrush=color)
            for plot, key, opts in (
                (self.loss_plot, "loss_ema", dict(pen=pen, name=name)),
                (self.loss_plot, "val_loss", dict(pen=dashed, **symbols)),
                (self.metric_plot, "metric", dict(pen=pen, **symbols)),
                (self.lr_plot, "lr", dict(pen=pen)),
            ):
                b = h.buffers[key]  # copies: the overlay keeps its points if h changes
                x, y = b.x.copy(), b.y.copy()
                self._overlay_items.append((plot, plot.plot(x, y, **opts)))
                self._overlay_bounds.append((plot, x, y, b.bounds.copy()))
        self.privacy.set_overlays(runs, OVERLAY_COLORS)
        self._forget_ranges()
        if runs and self.history.metric is None:
            metric = next((h.metric for h in runs.values() if h.metric), None)
            self.metric_plot.setLabel("left", metric or "metric")

    def overlay_count(self) -> int:
        return len(self._overlay_items) // 4

    # -- interaction ------------------------------------------------------------------
    def set_log_scale(self, on: bool) -> None:
        self.log_box.setChecked(on)

    def _on_log_box_toggled(self, on: bool) -> None:
        self.loss_plot.setLogMode(x=False, y=on)
        self.loss_plot.getViewBox().forget_held()
        self.log_scale_toggled.emit(on)

    def set_whole_run(self, on: bool) -> None:
        self.whole_box.setChecked(on)

    def _on_whole_box_toggled(self, _on: bool) -> None:
        self._set_recent()
        self.follow()

    def _on_scene_mouse_clicked(self, ev: object) -> None:
        if ev.double() and any(p.sceneBoundingRect().contains(ev.scenePos())  # type: ignore[attr-defined]
                               for p in self.plots):
            self.follow()

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        for p in self.plots:
            if p.sceneBoundingRect().contains(pos):
                self.show_crosshair(p.vb.mapSceneToView(pos).x())
                return
        for line in self._lines:
            line.hide()

    def show_crosshair(self, x: float) -> None:
        """Put the crosshair at step ``x`` and read every live curve there."""
        for line in self._lines:
            line.setPos(x)
            line.show()
        parts = [f"step {x:.0f}"]
        names = {"loss": "loss", "loss_ema": "smoothed", "val_loss": "val loss",
                 **{k: k for k in self.history.parts},
                 "metric": self.history.metric or "metric", "lr": "lr"}
        for key, label in names.items():
            b = self.history.buffers.get(key, self.history.parts.get(key))
            if b is None:
                continue
            if not b.n:
                continue
            i = int(np.clip(np.searchsorted(b.x, x), 0, b.n - 1))
            if i > 0 and abs(b.x[i - 1] - x) < abs(b.x[i] - x):
                i -= 1
            parts.append(f"{label} {b.y[i]:.4g}")
        self.readout.setText(" · ".join(parts))
