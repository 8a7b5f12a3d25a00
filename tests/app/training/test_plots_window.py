"""Plots of long runs: a recent window that follows the newest steps (y over what it
shows), a "Whole run" toggle, the user's zoom respected until a double-click, a legend
outside the curves, and ``reset`` for another project."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from app.panels.plots import RECENT_STEPS, PlotsPanel
from app.runs.history import RunHistory
from engine.train.events import EpochEnded, Progress, RunStarted


def _loss(step: float) -> float:
    return 2.0 / (1 + step / 50)


def _feed(panel, steps, start=0):
    for s in range(start + 1, start + steps + 1, 10):
        panel.on_event(Progress(epoch=1 + s // 500, step=s + 9,
                                losses=[_loss(s + k) for k in range(10)], lr=0.01))
        if (s + 9) % 500 == 0:
            panel.on_event(EpochEnded(epoch=(s + 9) // 500, val={"loss": _loss(s), "accuracy": 0.5}))
    panel.flush()
    panel.view.viewport().repaint()


def _shown(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    panel.resize(900, 600)
    with qtbot.waitExposed(panel):
        panel.show()
    return panel


def _x(panel):
    return panel.loss_plot.getViewBox().viewRange()[0]


def _width_is(panel, steps: float) -> bool:
    """The step axis spans ``steps``, with the ViewBox's few percent of padding."""
    x0, x1 = _x(panel)
    return steps <= x1 - x0 <= 1.1 * steps


def _long_run(qtbot, steps=10_000):
    panel = _shown(qtbot)
    panel.on_event(RunStarted(total_steps=50_000, steps_per_epoch=50))
    _feed(panel, steps)
    return panel


def test_a_long_run_shows_the_recent_steps_with_y_over_what_is_visible(qtbot):
    panel = _long_run(qtbot)
    x0, x1 = _x(panel)
    assert panel.following
    assert _width_is(panel, RECENT_STEPS)  # 20 epochs of 50 steps are fewer
    assert x0 > 5000 and x0 <= 10_000 <= x1  # the newest point is in view
    (_, _), (y0, y1) = panel.loss_plot.getViewBox().viewRange()
    x, y = panel.series("loss")
    visible = y[(x >= x0) & (x <= x1)]
    assert y0 <= visible.min() and visible.max() <= y1
    assert y1 < 0.2 * y.max()  # not flattened by the first steps' loss of 2
    for p in panel.plots[1:]:  # one step axis for the three plots
        assert p.getViewBox().viewRange()[0] == [x0, x1]
    _feed(panel, 2000, start=10_000)
    assert _x(panel)[0] <= 12_000 <= _x(panel)[1]  # it followed the new points
    # the curves draw the window's points only (clip to view), not the whole run's
    shown, _ = panel._curves["loss"].getData()
    assert len(shown) < 0.5 * len(panel.series("loss")[0])


def test_the_window_is_twenty_epochs_when_that_is_longer(qtbot):
    panel = _shown(qtbot)
    panel.on_event(RunStarted(total_steps=100_000, steps_per_epoch=500))
    _feed(panel, 12_000)
    x0, x1 = _x(panel)
    assert _width_is(panel, 20 * 500) and x0 <= 12_000 <= x1


def test_whole_run_shows_every_step_and_a_short_run_fits_the_window(qtbot):
    panel = _long_run(qtbot)
    panel.set_whole_run(True)
    panel.view.viewport().repaint()
    assert not panel.following
    x0, x1 = _x(panel)
    assert x0 <= 0.0 and x1 >= 50_000 and _width_is(panel, 50_000)  # the run's whole length
    (_, _), (_, y1) = panel.loss_plot.getViewBox().viewRange()
    assert y1 >= panel.series("loss")[1].max()
    panel.set_whole_run(False)
    panel.view.viewport().repaint()
    assert panel.following and _width_is(panel, RECENT_STEPS)
    short = _shown(qtbot)
    short.on_event(RunStarted(total_steps=600, steps_per_epoch=50))
    _feed(short, 300)
    assert not short.following and _width_is(short, 600)


def test_a_users_zoom_stops_the_following_until_a_double_click(qtbot):
    panel = _long_run(qtbot)
    vb = panel.loss_plot.getViewBox()
    vb.setXRange(3000, 3500, padding=0)  # what a mouse zoom does: auto-range off for x
    _feed(panel, 2000, start=10_000)
    assert _x(panel) == [3000, 3500] and not panel.following
    centre = panel.loss_plot.sceneBoundingRect().center()
    pos = panel.view.mapFromScene(centre)
    at = QPoint(pos.x(), pos.y())
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseRelease(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    panel.view.viewport().repaint()
    assert panel.following
    assert _x(panel)[0] <= 12_000 <= _x(panel)[1]


def test_the_legend_sits_outside_every_plot_area(qtbot):
    panel = _long_run(qtbot, steps=2000)
    history = RunHistory()
    history.add(Progress(epoch=1, step=100, losses=[1.0] * 100, lr=0.01))
    panel.set_overlays({"run 1": history, "run 2": history})
    panel.view.viewport().repaint()
    names = [label.text for _sample, label in panel.legend.items]
    assert names == ["loss", "smoothed", "val loss", "run 1", "run 2"]
    legend = panel.legend.sceneBoundingRect()
    assert legend.height() > 0
    for p in panel.plots:
        assert not legend.intersects(p.getViewBox().sceneBoundingRect())
    panel.set_overlays({})
    assert [label.text for _s, label in panel.legend.items] == ["loss", "smoothed", "val loss"]


def test_reset_forgets_data_overlays_run_length_and_ranges(qtbot):
    panel = _long_run(qtbot)
    history = RunHistory()
    history.add(Progress(epoch=1, step=100, losses=[1.0] * 100, lr=0.01))
    panel.set_overlays({"old": history})
    panel.loss_plot.getViewBox().setRange(xRange=(3000, 3500), yRange=(5, 6), padding=0)
    panel.reset()
    assert all(len(panel.series(k)[0]) == 0 for k in ("loss", "loss_ema", "val_loss", "lr"))
    assert panel.overlay_count() == 0
    assert all(p.getViewBox().x_extent is None for p in panel.plots)
    assert all(p.getViewBox().autoRangeEnabled()[1] for p in panel.plots)
    _feed(panel, 40)  # the next project's first points: shown at their own scale
    (x0, x1), (y0, y1) = panel.loss_plot.getViewBox().viewRange()
    assert x1 - x0 < 100
    _, y = panel.series("loss")
    assert y0 <= y.min() and y.max() <= y1 < 5
