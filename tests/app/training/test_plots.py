"""The plots panel on synthetic events: buffers, coalescing, exactness, overlays."""

from __future__ import annotations

import numpy as np

from app.panels.plot_data import GrowingBuffer
from app.panels.plots import PlotsPanel, ema
from app.runs.history import RunHistory
from engine.train.events import EpochEnded, Progress, RunStarted


def test_growing_buffer_keeps_every_point_across_growth():
    b = GrowingBuffer(capacity=4)
    for i in range(100):
        b.extend([i, i + 0.5], [2 * i, 2 * i + 1])
    assert b.n == 200
    assert np.array_equal(b.x[::2], np.arange(100))
    assert np.array_equal(b.y[1::2], 2 * np.arange(100) + 1)


def test_ema_skips_non_finite_values():
    out = ema(np.array([1.0, np.nan, 1.0]))
    assert np.allclose(out, [1.0, 1.0, 1.0])


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


def test_history_from_events_matches_live_plot(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    h = RunHistory()
    for ev in _events():
        panel.on_event(ev)
        h.add(ev)
    panel.flush()
    assert list(panel.series("loss")[1]) == h.losses
    assert list(panel.series("val_loss")[0]) == h.epoch_steps


def test_overlays_log_scale_and_crosshair(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    h = RunHistory()
    for ev in _events():
        panel.on_event(ev)
        h.add(ev)
    panel.flush()
    panel.set_overlays({"a": h, "b": h})
    assert panel.overlay_count() == 2
    panel.set_overlays({"a": h})
    assert panel.overlay_count() == 1
    panel.set_log_scale(True)
    assert panel.loss_plot.getAxis("left").logMode
    panel.show_crosshair(4.2)
    assert "loss 0.7" in panel.readout.text()
    assert "accuracy 0.5" in panel.readout.text()
