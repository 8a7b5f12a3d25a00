"""The plots panel on synthetic events: coalescing, the live history, overlays."""

from __future__ import annotations

import numpy as np

from app.panels.plots import PlotsPanel
from app.runs.history import SERIES, RunHistory
from engine.train.events import EpochEnded, Progress, RunStarted


def _events():
    yield RunStarted(total_steps=6, steps_per_epoch=3)
    yield Progress(epoch=1, step=2, losses=[1.0, 0.9], lr=0.1)
    yield Progress(epoch=1, step=3, losses=[0.8], lr=0.1)
    yield EpochEnded(epoch=1, train={"loss": 0.9}, val={"loss": 0.85, "accuracy": 0.5})
    yield Progress(epoch=2, step=6, losses=[0.7, 0.6, 0.5], lr=0.05)
    yield EpochEnded(epoch=2, train={"loss": 0.6}, val={"loss": 0.55, "accuracy": 0.75})


def test_points_are_coalesced_until_the_frame_timer(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    for ev in _events():
        panel.on_event(ev)
    assert len(panel.series("loss")[0]) == 0  # no setData per event
    # the frame timer updates the loss plot, then the metric and lr plots half a frame later
    qtbot.waitUntil(lambda: len(panel.series("loss")[0]) == 6
                    and len(panel.series("lr")[0]) == 3, timeout=1000)
    x, y = panel.series("loss")
    assert list(x) == [1, 2, 3, 4, 5, 6]
    assert list(y) == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
    assert list(panel.series("val_loss")[0]) == [3, 6]
    assert list(panel.series("metric")[1]) == [0.5, 0.75]
    assert panel.metric_name == "accuracy"
    assert list(panel.series("lr")[1]) == [0.1, 0.1, 0.05]


def test_the_curves_draw_the_panels_live_history(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    for ev in _events():
        panel.on_event(ev)
    panel.flush()
    for key in SERIES:
        assert np.array_equal(np.stack(panel.series(key)), np.stack(panel.history.series(key)))
        assert panel.history.buffers[key].n > 0


def test_a_fresh_run_empties_the_curves_at_once_and_a_resumed_one_continues_them(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    for ev in _events():
        panel.on_event(ev)
    panel.on_event(RunStarted(total_steps=9, resumed_from=6))
    panel.on_event(Progress(epoch=3, step=7, losses=[0.4], lr=0.05))
    panel.flush()
    assert list(panel.series("loss")[0]) == [1, 2, 3, 4, 5, 6, 7]
    assert panel.metric_name == "accuracy"
    panel.on_event(RunStarted(total_steps=6))
    assert all(len(panel.series(key)[0]) == 0 for key in SERIES)  # no frame needed
    assert panel.metric_name is None
    assert panel.metric_plot.getAxis("left").labelText == "metric"


def test_overlays_log_scale_and_crosshair(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    for ev in _events():
        panel.on_event(ev)
    panel.flush()
    h = RunHistory.from_events(_events())
    panel.set_overlays({"a": h, "b": h})
    assert panel.overlay_count() == 2
    panel.set_overlays({"a": h})
    assert panel.overlay_count() == 1
    panel.set_log_scale(True)
    assert panel.loss_plot.getAxis("left").logMode
    panel.show_crosshair(4.2)
    assert "loss 0.7" in panel.readout.text()
    assert "accuracy 0.5" in panel.readout.text()
