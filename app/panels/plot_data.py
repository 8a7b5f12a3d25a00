"""The view side of the live plots' data: a ViewBox that auto-ranges from the running
bounds of the curves' buffers (``app/runs/series.py``) instead of scanning every curve,
through held ranges (``hold_x``/``hold_y``), and an axis with cheaper tick values.

Why: pyqtgraph's auto-range scans each curve's data (numpy reductions over 1e5 points)
whenever a curve changes, and a range that moves by a step every frame makes each axis
regenerate its ticks and labels. Here the bounds are updated in O(new points) as points
arrive, and the range handed to the ViewBox only moves when the data leaves it, in nice
steps with headroom. When the run's length is known the step axis spans it from the start,
and loss and learning rate are shown from zero, so in a typical run the axes move a handful
of times. Other frames leave the range, and so the axes, untouched: they cost little more
than drawing the curves (a frame that moves an axis costs 2-3 times as much).

A long run is shown through a recent window (``LiveViewBox.recent``, in steps): the step
axis follows the newest point in jumps of a quarter window (``follow_x``), and y ranges
over the points inside the window only (``window_bounds``: a binary search and a reduction
over the window's points, not the whole curve), so the recent trend is not flattened by
the first steps' loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from app.runs.series import Bounds

#: the x range grows to the next of these multiples of a power of ten
NICE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
#: ... past this multiple of the data's length, so it grows geometrically (a few dozen
#: changes over a run of 1e5 steps) and the curve fills 55-80% of the width
X_HEADROOM = 1.25
#: the y range starts with this fraction of the data's span as slack on each side ...
Y_SLACK = 0.1
#: ... and a side the data cross moves out by this fraction of their span, so a falling
#: loss moves the range a handful of times over a run, not every frame
Y_STEP = 0.5
#: a held range is recomputed when the data fill less than this fraction of it
MIN_FILL = 0.3
#: a following step axis puts the newest point this far across the window, so it moves
#: once every quarter window of progress, not every frame
FOLLOW_AT = 0.75

#: a source of a plot's bounds: all its points (None), or those with x inside a window
BoundsSource = Callable[[tuple[float, float] | None], Bounds]


def nice_ceil(value: float) -> float:
    """The smallest of NICE_STEPS x 10^k that is >= value (value > 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    unit = 10.0 ** math.floor(math.log10(value))
    return next((s * unit for s in NICE_STEPS if s * unit >= value * (1 - 1e-12)), 10 * unit)


def _held(held: tuple[float, float] | None, lo: float, hi: float) -> bool:
    if held is None:
        return False
    a, b = held
    return a <= lo and hi <= b and (hi - lo) >= MIN_FILL * (b - a)


def hold_x(held: tuple[float, float] | None, lo: float, hi: float) -> tuple[float, float]:
    """The x range to show: kept while it holds the data; else from ``lo`` to a nice
    length past ``hi``."""
    if _held(held, lo, hi):
        return held  # type: ignore[return-value]
    return lo, lo + nice_ceil(X_HEADROOM * (hi - lo) if hi > lo else 1.0)


def hold_y(held: tuple[float, float] | None, lo: float, hi: float,
           clamp_zero: bool) -> tuple[float, float]:
    """The y range to show: kept while it holds the data; a side the data crossed moves
    out by Y_STEP of the data's span; from scratch (Y_SLACK each side) when the data fill
    too little of it. Never below zero for data that never are."""
    if _held(held, lo, hi):
        return held  # type: ignore[return-value]
    span = hi - lo if hi > lo else max(abs(hi) * 0.1, 1e-9)
    if held is not None and (hi - lo) >= MIN_FILL * (held[1] - held[0]):
        a = lo - Y_STEP * span if lo < held[0] else held[0]
        b = hi + Y_STEP * span if hi > held[1] else held[1]
    else:
        a, b = lo - Y_SLACK * span, hi + Y_SLACK * span
    if clamp_zero and lo >= 0 > a:
        a = 0.0
    return a, b


def follow_x(held: tuple[float, float] | None, newest: float, window: float,
             floor: float, ceiling: float) -> tuple[float, float]:
    """The step range of width ``window`` that follows ``newest``: kept while it holds it;
    else moved so that it sits FOLLOW_AT across, never starting before ``floor`` nor
    ending after ``ceiling`` (the run's first and last steps) when they allow."""
    if (held is not None and math.isclose(held[1] - held[0], window)
            and held[0] <= newest <= held[1]):
        return held
    start = newest - FOLLOW_AT * window
    start = max(floor, min(start, ceiling - window))
    return start, start + window


def window_bounds(x: np.ndarray, y: np.ndarray, window: tuple[float, float] | None,
                  whole: Bounds) -> Bounds:
    """Bounds of the points with x inside ``window`` (``whole`` when None); ``x`` must be
    ascending, as steps are."""
    if window is None or whole.empty or (window[0] <= whole.x0 and whole.x1 <= window[1]):
        return whole
    i = int(np.searchsorted(x, window[0], side="left"))
    j = int(np.searchsorted(x, window[1], side="right"))
    out = Bounds()
    out.add(x[i:j], y[i:j])
    return out


class PlainAxis(pg.AxisItem):
    """pyqtgraph's axis with its tick values computed in plain Python: the same ticks, but
    without building numpy arrays to drop a level's values that an upper level already has
    (that costs about a millisecond each time an axis regenerates)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803, ANN001, ANN201
        lo, hi = sorted((minVal * self.scale, maxVal * self.scale))
        ticks: list[tuple[float, list[float]]] = []
        upper: list[tuple[float, float, int]] = []  # (spacing, first value, count) per level
        for spacing, offset in self.tickSpacing(lo, hi, size):
            start = math.ceil((lo - offset) / spacing) * spacing + offset
            num = int((hi - start) / spacing) + 1
            values = [start + i * spacing for i in range(num)]
            values = [v for v in values if not any(_on_level(v, lvl, 0.01 * spacing)
                                                   for lvl in upper)]
            upper.append((spacing, start, num))
            ticks.append((spacing / self.scale, [v / self.scale for v in values]))
        if self.logMode:
            return self.logTickValues(lo, hi, size, ticks)
        return ticks


def _on_level(value: float, level: tuple[float, float, int], tol: float) -> bool:
    """Whether ``value`` is within ``tol`` of one of a level's ticks."""
    spacing, start, num = level
    i = round((value - start) / spacing)
    return 0 <= i < num and abs(start + i * spacing - value) <= tol


class LiveViewBox(pg.ViewBox):
    """A ViewBox whose auto-range comes from ``sources`` (BoundsSource) through held
    ranges, not from scanning its items. ``x_sources`` may differ from the y ones so that
    x-linked plots agree on one step axis; ``lead_sources`` (the live run) give the newest
    step a recent window follows, before the overlays'."""

    def __init__(self) -> None:
        super().__init__()
        self.x_sources: list[BoundsSource] = []
        self.y_sources: list[BoundsSource] = []
        self.lead_sources: list[BoundsSource] = []
        self._held: list[tuple[float, float] | None] = [None, None]
        self._follow: tuple[float, float] | None = None
        #: the run's whole step range, when known: x shows it from the first step
        self.x_extent: tuple[float, float] | None = None
        #: y starts at zero while the data are not negative (loss, learning rate) ...
        self.y_from_zero = False
        #: ... also in a recent window (a learning rate: a zoom on a constant rate would
        #: make it look like it varies); a loss in a window ranges over what it shows
        self.y_from_zero_in_window = False
        #: the width of the recent window in steps; None shows the whole run
        self.recent: float | None = None
        #: whether the last auto-range followed a recent window (narrower than the data)
        self.following = False

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):  # noqa: N802, ANN001, ANN201
        if items is not None or not (self.x_sources or self.y_sources):
            return super().childrenBounds(frac, orthoRange, items)
        xb, yb = Bounds(), Bounds()
        for source in self.x_sources:
            xb.merge(source(None))
        out: list[list[float] | None] = [None, None]
        extent = self.x_extent
        if extent is not None and (xb.empty or (extent[0] <= xb.x0 and xb.x1 <= extent[1])):
            self._held[0] = extent
            out[0] = list(extent)
        elif not xb.empty:
            self._held[0] = hold_x(self._held[0], xb.x0, xb.x1)
            out[0] = list(self._held[0])
        window = self._follow_window(out[0], xb)
        if window is not None:
            out[0] = list(window)
        for source in self.y_sources:
            yb.merge(source(window))
        if not yb.empty:
            lo, hi, clamp = yb.y0, yb.y1, True
            if self.y_from_zero and lo >= 0 and (window is None or self.y_from_zero_in_window):
                lo = 0.0
            if self.state["logMode"][1]:
                if not math.isfinite(yb.ypos):
                    return out
                lo, hi, clamp = math.log10(yb.ypos), math.log10(max(yb.y1, yb.ypos)), False
            self._held[1] = hold_y(self._held[1], lo, hi, clamp)
            out[1] = list(self._held[1])
        return out

    def autoRangeEnabled(self) -> list:  # noqa: N802 - pyqtgraph override
        """What the view tells its curves: while it follows a recent window, x reads as
        not auto-ranged. pyqtgraph's curves clip to the view only then (its own auto-range
        scans every point; this one reads the sources), so a window of a 1e5-step run
        draws the points it shows, not all of them. The view itself reads ``state``."""
        enabled = list(self.state["autoRange"])
        if self.following:
            enabled[0] = False
        return enabled

    @property
    def x_auto(self) -> bool:
        """Whether x auto-ranges (the user has not zoomed or panned it)."""
        return self.state["autoRange"][0] is not False

    def _follow_window(self, shown: list[float] | None, xb: Bounds) -> tuple[float, float] | None:
        """The recent window to show instead of ``shown`` (the whole run's range), or None
        when the run fits in it."""
        self.following = False
        if self.recent is None or shown is None or shown[1] - shown[0] <= self.recent:
            self._follow = None
            return None
        lead = Bounds()
        for source in self.lead_sources:
            lead.merge(source(None))
        newest = (xb if lead.empty else lead).x1
        self._follow = follow_x(self._follow, newest, self.recent, shown[0], shown[1])
        self.following = True
        return self._follow

    def forget_held(self) -> None:
        """Recompute the range from scratch at the next auto-range (data replaced, axis
        mode changed)."""
        self._held = [None, None]
        self._follow = None
        self._autoRangeNeedsUpdate = True
        self.update()


class LivePlotItem(pg.PlotItem):
    """A PlotItem on a LiveViewBox whose "A" (auto-range) button follows the view's own
    auto-range state, not what the view tells its curves (``autoRangeEnabled``)."""

    def updateButtons(self) -> None:  # noqa: N802 - pyqtgraph override
        try:
            manual = not all(self.vb.state["autoRange"])
            self.autoBtn.setVisible(self._exportOpts is False and self.mouseHovering
                                    and not self.buttonsHidden and manual)
        except RuntimeError:
            pass  # the plot was deleted
