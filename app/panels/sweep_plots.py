"""The experiment view's plots, each fed the sweep's trial records:

- :class:`BestSoFarPlot`: every finished trial's value of the first objective against its
  number (points), and the best value up to each trial (a step line);
- :class:`ParallelPlot`: parallel coordinates, one line per trial that has a value, over
  the search ranges and the objective, each axis normalised to its own range (a log range on
  a log scale, a choice by its position in the list), coloured by the objective (light to
  dark: worse to better);
- :class:`ParetoPlot`: for two objectives, the complete trials as points and the Pareto
  front (the trials no other beats on both) joined by a line, each front point labelled
  with its trial's number.

Axes show values as they are (no "x0.001" scale factor: an accuracy reads 0.9, not 900).

They only draw what they are given; the view decides what to give them."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from app.panels.sweep_table import short_key
from app.widgets.plot_style import style_plot
from engine.sweep.results import TrialRecord, pareto
from engine.sweep.space import SearchRange
from engine.sweep.study import Objective

#: how the value colours run, worse (light) to better (dark)
COLOURS = pg.colormap.get("viridis")
COLOURS.reverse()


def _accent() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.Highlight)


def _text() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.Text)


def valued(records: list[TrialRecord], metric: str) -> list[TrialRecord]:
    """The trials with a finite value of ``metric`` (complete, or pruned at an epoch)."""
    return [r for r in records if r.state in ("complete", "pruned")
            and isinstance(r.values.get(metric), int | float)
            and math.isfinite(r.values[metric])]


class _Plot(pg.PlotWidget):
    def __init__(self, title: str = "") -> None:
        super().__init__(enableMenu=False)  # no context menu: none is made
        self.setMinimumHeight(80)
        self.getPlotItem().setMenuEnabled(False)
        self.getPlotItem().hideButtons()
        if title:
            self.getPlotItem().setTitle(title, size="9pt")
        for side in ("left", "bottom"):
            self.getPlotItem().getAxis(side).enableAutoSIPrefix(False)
        self.restyle()

    def restyle(self) -> None:
        style_plot(self)


class BestSoFarPlot(_Plot):
    """Points: each complete trial's value; line: the best value so far."""

    def __init__(self) -> None:
        super().__init__()
        item = self.getPlotItem()
        item.setLabel("bottom", "trial")
        self.points = pg.ScatterPlotItem(size=7, pen=None)
        self.line = pg.PlotDataItem(stepMode="left")
        self.addItem(self.line)
        self.addItem(self.points)
        self.restyle()

    def restyle(self) -> None:
        super().restyle()
        if hasattr(self, "line"):
            accent = _accent()
            self.line.setPen(pg.mkPen(accent, width=2))
            fill = QColor(accent)
            fill.setAlpha(150)
            self.points.setBrush(pg.mkBrush(fill))

    def set_data(self, records: list[TrialRecord], objective: Objective) -> None:
        done = sorted((r for r in valued(records, objective.metric) if r.state == "complete"),
                      key=lambda r: r.number)
        self.getPlotItem().setLabel("left", objective.metric)
        xs = [float(r.number) for r in done]
        ys = [float(r.values[objective.metric]) for r in done]
        self.points.setData(xs, ys)
        best: list[float] = []
        for y in ys:
            best.append(y if not best or objective.better(y, best[-1]) else best[-1])
        if xs:  # the step line runs on to the last trial's right edge
            self.line.setData([*xs, xs[-1] + 1], [*best, best[-1]])
        else:
            self.line.setData([], [])
        # trials are whole numbers: ticks at whole steps (1, 2, 5, 10... apart)
        last = xs[-1] + 1 if xs else 1.0
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9)
                    if last / s <= 10)
        self.getPlotItem().getAxis("bottom").setTickSpacing(step, step)


class ParallelPlot(_Plot):
    """Parallel coordinates: axis i at x = i (the ranges, then the objective), each from 0
    (its low end) to 1 (its high end); ``lines`` holds one curve per trial drawn."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[pg.PlotDataItem] = []
        self._labels: list[pg.TextItem] = []
        item = self.getPlotItem()
        item.showGrid(x=True, y=False, alpha=0.4)
        item.getAxis("left").setTicks([[(0.0, "low"), (1.0, "high")]])
        item.setMouseEnabled(x=False, y=False)

    def set_data(self, records: list[TrialRecord], objective: Objective,
                 space: dict[str, SearchRange]) -> None:
        item = self.getPlotItem()
        for line in self.lines:
            item.removeItem(line)
        for label in self._labels:
            item.removeItem(label)
        self.lines, self._labels = [], []
        keys = list(space)
        rows = [r for r in valued(records, objective.metric) if all(k in r.params for k in keys)]
        axes = [*keys, objective.metric]
        short = [short_key(k) for k in keys]
        item.getAxis("bottom").setTicks([list(enumerate([*short, objective.metric]))])
        item.setXRange(-0.3, len(axes) - 0.7, padding=0)
        item.setYRange(-0.08, 1.12, padding=0)
        if not rows:
            return
        values = [float(r.values[objective.metric]) for r in rows]
        lo, hi = min(values), max(values)
        scalers = [_scaler(space[k], [r.params[k] for r in rows]) for k in keys]
        scalers.append(_Scale(lo, hi, False))
        for i, s in enumerate(scalers):  # each axis's ends, above and below it
            for y, text in ((1.0, s.high_text()), (0.0, s.low_text())):
                label = pg.TextItem(text, color=_text(), anchor=(0.5, 1.0 if y else 0.0))
                label.setPos(i, 1.0 if y else 0.0)
                item.addItem(label)
                self._labels.append(label)
        for r, v in sorted(zip(rows, values, strict=True),
                           key=lambda rv: rv[1] if objective.maximize else -rv[1]):
            ys = [s.place(r.params[k]) for s, k in zip(scalers, keys, strict=False)]
            ys.append(scalers[-1].place(v))
            goodness = (v - lo) / (hi - lo) if hi > lo else 1.0
            if not objective.maximize:
                goodness = 1.0 - goodness
            colour = COLOURS.map(0.25 + 0.75 * goodness, mode="qcolor")  # no pale yellow
            line = pg.PlotDataItem(list(range(len(axes))), ys, pen=pg.mkPen(colour, width=2),
                                   symbol="o", symbolSize=5, symbolPen=None,
                                   symbolBrush=colour)
            line.setToolTip(f"trial {r.number}")
            item.addItem(line)
            self.lines.append(line)


class _Scale:
    """Places a value of one axis between 0 and 1."""

    def __init__(self, low: float, high: float, log: bool,
                 choices: tuple[Any, ...] = ()) -> None:
        self.low, self.high, self.log, self.choices = low, high, log, choices

    def place(self, v: Any) -> float:
        if self.choices:
            i = self.choices.index(v) if v in self.choices else 0
            return i / (len(self.choices) - 1) if len(self.choices) > 1 else 0.5
        f = (lambda x: math.log10(x)) if self.log else float
        lo, hi = f(self.low), f(self.high)
        return (f(float(v)) - lo) / (hi - lo) if hi > lo else 0.5

    def low_text(self) -> str:
        return str(self.choices[0]) if self.choices else f"{self.low:.3g}"

    def high_text(self) -> str:
        return str(self.choices[-1]) if self.choices else f"{self.high:.3g}"


def _scaler(rng: SearchRange, seen: list[Any]) -> _Scale:
    if rng.kind == "choice":
        return _Scale(0, 1, False, tuple(rng.choices))
    lo = min([float(rng.low), *map(float, seen)])
    hi = max([float(rng.high), *map(float, seen)])
    return _Scale(lo, hi, rng.log and lo > 0)


class ParetoPlot(_Plot):
    """Complete trials by two objectives; the front highlighted and joined."""

    def __init__(self) -> None:
        super().__init__()
        self.others = pg.ScatterPlotItem(size=7, pen=None)
        self.front = pg.PlotDataItem(symbol="o", symbolSize=9)
        self.addItem(self.others)
        self.addItem(self.front)
        self.front_numbers: list[int] = []
        self._labels: list[pg.TextItem] = []
        self.restyle()

    def restyle(self) -> None:
        super().restyle()
        if hasattr(self, "front"):
            accent = _accent()
            grey = QColor(_text())
            grey.setAlpha(90)
            self.others.setBrush(pg.mkBrush(grey))
            self.front.setPen(pg.mkPen(accent, width=2, style=Qt.PenStyle.DashLine))
            self.front.setSymbolBrush(pg.mkBrush(accent))
            self.front.setSymbolPen(None)

    def set_data(self, records: list[TrialRecord], objectives: list[Objective]) -> None:
        a, b = objectives[0].metric, objectives[1].metric
        item = self.getPlotItem()
        item.setLabel("bottom", f"{a} ({_goal(objectives[0])})")
        item.setLabel("left", f"{b} ({_goal(objectives[1])})")
        for label in self._labels:
            item.removeItem(label)
        self._labels = []
        done = [r for r in records if r.state == "complete" and a in r.values and b in r.values]
        best = pareto(records, objectives)
        self.front_numbers = [r.number for r in best]
        on_front = set(self.front_numbers)
        rest = [r for r in done if r.number not in on_front]
        self.others.setData([r.values[a] for r in rest], [r.values[b] for r in rest])
        best.sort(key=lambda r: r.values[a])
        self.front.setData([r.values[a] for r in best], [r.values[b] for r in best])
        for r in best:
            label = pg.TextItem(str(r.number), color=_accent(), anchor=(-0.2, 1.0))
            label.setPos(r.values[a], r.values[b])
            label.setToolTip(f"trial {r.number}")
            item.addItem(label)
            self._labels.append(label)


def _goal(objective: Objective) -> str:
    return "higher is better" if objective.maximize else "lower is better"
