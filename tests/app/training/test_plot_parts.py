"""The loss's parts (training figures named loss_*) as per-epoch curves beside the loss,
and the vision tasks' headline metrics, from synthetic events."""

from __future__ import annotations

import numpy as np

from app.panels.plots import PlotsPanel
from app.runs.history import RunHistory, headline_metric
from engine.train.events import EpochEnded, Progress, RunStarted


def _detection_run():
    yield RunStarted(total_steps=6, steps_per_epoch=3)
    yield Progress(epoch=1, step=3, losses=[3.0, 2.5, 2.0], lr=0.01)
    yield EpochEnded(epoch=1, train={"loss": 2.5, "loss_heatmap": 2.0, "loss_size": 6.0,
                                     "loss_offset": 0.25},
                     val={"loss": 2.2, "map": 0.1, "map50": 0.3, "map75": 0.05})
    yield Progress(epoch=2, step=6, losses=[1.8, 1.5, 1.2], lr=0.01)
    yield EpochEnded(epoch=2, train={"loss": 1.5, "loss_heatmap": 1.1, "loss_size": 4.0,
                                     "loss_offset": float("nan")},
                     val={"loss": 1.4, "map": 0.3, "map50": 0.6, "map75": 0.2})


def test_headline_metrics_of_the_vision_tasks():
    assert headline_metric({"loss": 1.0, "pixel_accuracy": 0.9, "miou": 0.7,
                            "mean_dice": 0.8}) == "miou"
    assert headline_metric({"loss": 1.0, "map": 0.3, "map75": 0.2, "map50": 0.6}) == "map50"
    assert headline_metric({"loss": 1.0, "pixel_accuracy": 0.9}) == "pixel_accuracy"
    assert headline_metric({"loss": 1.0, "accuracy": 0.5}) == "accuracy"  # as before


def test_loss_parts_are_epoch_curves_in_the_loss_plot_with_a_legend(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    panel.resize(900, 500)
    with qtbot.waitExposed(panel):
        panel.show()
    for ev in _detection_run():
        panel.on_event(ev)
    # the frame timer draws the parts with the loss plot's half of a frame
    qtbot.waitUntil(lambda: len(panel.series("loss_size")[0]) == 2
                    and len(panel.series("metric")[0]) == 2, timeout=1000)
    assert panel.part_names() == ["loss_heatmap", "loss_size", "loss_offset"]
    x, y = panel.series("loss_heatmap")
    assert list(x) == [3, 6] and list(y) == [2.0, 1.1]  # at the step each epoch ended
    assert list(panel.series("loss_offset")[1]) == [0.25]  # a NaN figure draws no point
    assert panel.metric_name == "map50"
    assert list(panel.series("metric")[1]) == [0.3, 0.6]
    names = [label.text for _, label in panel.legend.items]
    assert names == ["loss", "smoothed", "val loss", "loss_heatmap", "loss_size", "loss_offset"]
    panel.view.viewport().repaint()
    assert panel.loss_plot.getViewBox().viewRange()[1][1] >= 6.0  # the parts fit the axis
    panel.show_crosshair(6)
    assert "loss_size 4" in panel.readout.text()


def test_a_new_run_or_project_forgets_the_parts(qtbot):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    for ev in _detection_run():
        panel.on_event(ev)
    panel.flush()
    panel.on_event(RunStarted(total_steps=6, steps_per_epoch=3))  # a fresh classifier run
    panel.on_event(EpochEnded(epoch=1, train={"loss": 1.0}, val={"accuracy": 0.5}))
    panel.flush()
    assert panel.part_names() == []
    assert [label.text for _, label in panel.legend.items] == ["loss", "smoothed", "val loss"]
    assert len(panel.series("loss_size")[0]) == 0
    for ev in _detection_run():
        panel.on_event(ev)
    panel.reset()
    panel.flush()
    assert panel.part_names() == [] and panel.history.parts == {}


def test_a_resumed_run_continues_its_parts_and_a_run_folder_reads_them_back():
    events = list(_detection_run())
    h = RunHistory.from_events(events[:3])
    h.add(RunStarted(total_steps=6, steps_per_epoch=3, resumed_from=3))
    for ev in events[3:]:
        h.add(ev)
    whole = RunHistory.from_events(events)
    for name in ("loss_heatmap", "loss_size", "loss_offset"):
        assert np.array_equal(np.stack(h.series(name)), np.stack(whole.series(name)))
    assert set(whole.parts) == {"loss_heatmap", "loss_size", "loss_offset"}
    assert "loss" not in whole.parts and "loss_ema" not in whole.parts
