"""Plotting soak (``make soak``): ten minutes of synthetic events at a high rate, frames,
log-scale and range changes, crosshair moves and overlays. It must not crash or leak."""

from __future__ import annotations

import math
import os
import random
import time
from collections import deque

import pytest

from app.panels.plots import PlotsPanel
from app.runs.history import RunHistory
from engine.train.events import EpochEnded, Progress, RunStarted

SOAK_S = float(os.environ.get("LAYERFORGE_SOAK_S", "600"))


@pytest.mark.slow
@pytest.mark.timeout(SOAK_S + 300, method="thread")
def test_plots_survive_a_long_high_rate_soak(qtbot, qapp):
    panel = PlotsPanel()
    qtbot.addWidget(panel, before_close_func=PlotsPanel.dispose)
    panel.resize(1200, 700)
    panel.show()
    rnd = random.Random(0)
    step, epoch, runs, events = 0, 0, 0, 0
    recent: deque[Progress | EpochEnded] = deque(maxlen=420)  # ~20k steps for an overlay
    end = time.monotonic() + SOAK_S
    next_action = time.monotonic()
    while time.monotonic() < end:
        if step == 0 or step > 300_000:  # a new run every 300k points
            runs += 1
            step, epoch = 0, 0
            panel.on_event(RunStarted(total_steps=300_000))
        for _ in range(20):  # a burst: 20 events of 50 losses each
            losses = [math.exp(-step / 1e5) + rnd.random() * 0.1 for _ in range(50)]
            if rnd.random() < 0.001:
                losses[rnd.randrange(50)] = float("nan")
            step += 50
            ev = Progress(epoch=epoch + 1, step=step, losses=losses, lr=1e-3 * rnd.random())
            panel.on_event(ev)
            recent.append(ev)
            events += 1
            if step % 5000 == 0:
                epoch += 1
                ee = EpochEnded(epoch=epoch, val={"loss": losses[-1], "accuracy": rnd.random()})
                panel.on_event(ee)
                recent.append(ee)
        qapp.processEvents()
        if time.monotonic() >= next_action:
            next_action = time.monotonic() + 0.5
            action = rnd.randrange(5)
            if action == 0:
                panel.set_log_scale(not panel.log_box.isChecked())
            elif action == 1:
                panel.loss_plot.setXRange(rnd.uniform(0, step / 2), step)
            elif action == 2:
                panel.loss_plot.enableAutoRange()
            elif action == 3:
                panel.show_crosshair(rnd.uniform(0, step))
            else:
                tail = RunHistory.from_events(recent)
                panel.set_overlays({"a": tail} if rnd.random() < 0.7 else {})
            panel.view.viewport().repaint()
    panel.flush()
    assert events > 1000 and runs >= 1
    assert len(panel.series("loss")[0]) > 0
