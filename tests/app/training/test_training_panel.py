"""The training panel follows the run's events (no worker needed)."""

from __future__ import annotations

from app.panels.training import RUN_TEXT, TrainingPanel
from engine.train.events import Paused, Progress, Resumed, RunStarted, Status


def test_the_status_line_follows_paused_and_resumed_events(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.on_event(RunStarted(total_steps=10, parameters=42, device="cpu", dataset="moons"))
    started = panel.status.text()
    panel.on_event(Progress(epoch=1, step=3, total_steps=10, losses=[1.0], loss=1.0))
    panel.on_event(Status(state="running"))  # a session event: nothing to show here
    assert panel.status.text() == started
    panel.on_event(Paused(epoch=1, step=3))
    assert panel.status.text() == RUN_TEXT["paused"] == "Paused"
    assert panel.worker_state.text() == "paused"
    panel.on_event(Resumed(epoch=1, step=3))
    assert panel.status.text() == RUN_TEXT["running"] == "Training"
    assert panel.worker_state.text() == "training"
