"""The live plots' ranges: they always hold the data, and move rarely (each move makes the
axes regenerate their ticks, the costly part of a frame)."""

from __future__ import annotations

import math

import numpy as np

from app.panels.plot_data import hold_x, hold_y, nice_ceil
from app.panels.plots import PlotsPanel
from app.runs.series import Bounds, GrowingBuffer
from engine.train.events import EpochEnded, Progress, RunStarted


def test_bounds_skip_non_finite_points_and_track_smallest_positive():
    b = Bounds()
    b.add(np.array([1.0, 2.0, 3.0, 4.0]), np.array([np.nan, -1.0, np.inf, 0.5]))
    assert (b.x0, b.x1, b.y0, b.y1, b.ypos) == (2.0, 4.0, -1.0, 0.5, 0.5)
    buf = GrowingBuffer(capacity=2)
    buf.extend([1, 2, 3], [3.0, math.nan, 1.0])
    assert (buf.bounds.y0, buf.bounds.y1) == (1.0, 3.0)
    buf.clear()
    assert buf.bounds.empty


def test_nice_ceil_is_the_next_nice_number():
    assert nice_ceil(100_010) == 125_000
    assert nice_ceil(7) == 8
    assert nice_ceil(10) == 10
    assert nice_ceil(0.0031) == 0.004


def test_x_range_holds_the_data_fills_most_of_it_and_moves_a_few_dozen_times():
    held, moves = None, 0
    for step in range(1, 100_001, 7):
        new = hold_x(held, 1.0, float(step))
        moves += new != held
        held = new
        assert held[0] <= 1.0 and step <= held[1]
        assert (step - 1) / (held[1] - held[0]) >= 0.5 or step < 10
    assert moves <= 45


def test_y_range_follows_a_falling_loss_in_a_handful_of_moves_and_stays_above_zero():
    held, moves = None, 0
    steps = np.arange(1, 20_001)
    loss = 2.3 * np.exp(-steps / 2000) + 0.02
    for i in range(10, len(loss), 10):
        window = loss[:i]
        new = hold_y(held, float(window.min()), float(window.max()), clamp_zero=True)
        moves += new != held
        held = new
        assert held[0] <= window.min() and window.max() <= held[1]
        assert held[0] >= 0.0
    assert moves <= 12


def test_y_range_starts_over_when_the_data_fill_too_little_of_it():
    held = hold_y(None, 0.0, 100.0, clamp_zero=True)
    small = hold_y(held, 1.0, 2.0, clamp_zero=True)
    assert small[1] - small[0] < 2.0


def _feed(panel, steps, start=0, value=lambda s: 2.0 / (1 + s / 50)):
    for s in range(start + 1, start + steps + 1, 5):
        panel.on_event(Progress(epoch=1, step=s + 4, losses=[value(s + k) for k in range(5)],
                                lr=0.01))
    panel.flush()


def _shown(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    panel.resize(900, 500)
    with qtbot.waitExposed(panel):
        panel.show()
    return panel


def _ranges(panel):
    return [p.getViewBox().viewRange() for p in panel.plots]


def test_panel_ranges_hold_every_curve_and_rarely_move(qtbot):
    panel = _shown(qtbot)
    panel.on_event(RunStarted(total_steps=3000, steps_per_epoch=1000))
    moves = []
    panel.loss_plot.getViewBox().sigRangeChanged.connect(lambda *_: moves.append(1))
    frames = 0
    for epoch in range(3):
        for k in range(20):
            _feed(panel, 50, start=epoch * 1000 + k * 50)
            panel.view.viewport().repaint()
            frames += 1
        panel.on_event(EpochEnded(epoch=epoch + 1, val={"loss": 0.5, "accuracy": 0.6 + epoch / 10}))
        panel.flush()
    panel.view.viewport().repaint()
    (x0, x1), (y0, y1) = panel.loss_plot.getViewBox().viewRange()
    x, y = panel.series("loss")
    assert x0 <= x.min() and x.max() <= x1
    assert y0 <= np.nanmin(y) and np.nanmax(y) <= y1
    (_, _), (m0, m1) = panel.metric_plot.getViewBox().viewRange()
    assert m0 <= 0.6 and m1 >= 0.8
    assert len(moves) < frames / 3  # most frames leave the axes alone
    # x-linked plots agree on one step axis
    assert all(r[0] == _ranges(panel)[0][0] for r in _ranges(panel))


def test_log_scale_range_is_in_log_units_and_a_new_run_shrinks_the_range(qtbot):
    panel = _shown(qtbot)
    panel.set_whole_run(True)  # every point in range, not the recent window's
    _feed(panel, 5000)
    panel.set_log_scale(True)
    panel.view.viewport().repaint()
    (_, _), (y0, y1) = panel.loss_plot.getViewBox().viewRange()
    _, y = panel.series("loss")
    assert y0 <= math.log10(y.min()) and math.log10(y.max()) <= y1
    panel.set_log_scale(False)
    panel.on_event(RunStarted(total_steps=20, steps_per_epoch=20))
    _feed(panel, 20)
    panel.view.viewport().repaint()
    (x0, x1), _ = panel.loss_plot.getViewBox().viewRange()
    assert x1 - x0 < 100  # not still sized for the 5000 steps of the earlier run


def test_a_user_zoom_is_not_undone_by_new_points_until_auto_range(qtbot):
    panel = _shown(qtbot)
    _feed(panel, 1000)
    vb = panel.loss_plot.getViewBox()
    vb.setXRange(100, 200, padding=0)  # what a mouse zoom does: auto-range off for x
    _feed(panel, 1000, start=1000)
    panel.view.viewport().repaint()
    assert vb.viewRange()[0] == [100, 200]
    vb.enableAutoRange()
    panel.view.viewport().repaint()
    assert vb.viewRange()[0][1] >= 2000


def test_axes_show_plain_values_without_a_unit_prefix(qtbot):
    panel = _shown(qtbot)
    _feed(panel, 500)  # lr 0.01, loss around 1: pyqtgraph would label "lr (x0.001)"
    panel.view.viewport().repaint()
    for p in panel.plots:
        for axis in ("left", "bottom"):
            assert "(x" not in p.getAxis(axis).labelString()


def test_plain_axis_gives_pyqtgraphs_ticks(qtbot):
    import random

    import pyqtgraph as pg

    from app.panels.plot_data import PlainAxis

    ours, theirs = PlainAxis("left"), pg.AxisItem("left")
    rng = random.Random(3)
    for _ in range(500):
        lo = rng.uniform(-1e4, 1e4) * 10 ** rng.randint(-6, 3)
        hi = lo + rng.uniform(1e-3, 1e4) * 10 ** rng.randint(-6, 3)
        size = rng.uniform(50, 1500)
        a, b = ours.tickValues(lo, hi, size), theirs.tickValues(lo, hi, size)
        assert [s for s, _ in a] == [s for s, _ in b]
        for (_, va), (_, vb) in zip(a, b, strict=True):
            assert np.allclose(va, vb, rtol=1e-12, atol=0)
