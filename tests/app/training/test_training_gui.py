"""Training through the window with a real worker process."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.panels.training import TrainingPanel
from engine.train.events import Failed, Finished, Progress, Stopped
from tests.app.helpers import answer_next_dialog
from tests.app.training.conftest import set_small


def _events(run_dir: str) -> list[dict]:
    return [json.loads(line) for line in Path(run_dir, "events.jsonl").read_text().splitlines()]


def _click_train(qtbot, ui) -> None:
    qtbot.mouseClick(ui.panel.buttons[0], Qt.MouseButton.LeftButton)


def _wait_progress(qtbot, ui) -> Progress:
    with qtbot.waitSignal(ui.controller.event_received, timeout=60000,
                          check_params_cb=lambda ev: isinstance(ev, Progress)) as blocker:
        pass
    return blocker.args[0]


def test_train_click_runs_to_completion_and_plots_hold_every_point(qtbot, tw):
    with qtbot.waitSignal(tw.controller.run_ended, timeout=60000) as ended:
        _click_train(qtbot, tw)
    assert isinstance(ended.args[0], Finished)
    run_dir = tw.ws.document.project.runs[-1]
    folder = Path(tw.ws.document.path).parent / run_dir.path
    events = _events(str(folder))
    tw.plots.flush()
    steps, losses, lrs = [], [], []
    for e in events:
        if e["type"] == "progress":
            n = len(e["losses"])
            steps += range(e["step"] - n + 1, e["step"] + 1)
            losses += e["losses"]
            lrs.append(e["lr"])
    x, y = tw.plots.series("loss")
    assert list(x) == steps and list(y) == losses
    assert list(tw.plots.series("lr")[1]) == lrs
    val = [e["val"]["loss"] for e in events if e["type"] == "epoch_ended"]
    acc = [e["val"]["accuracy"] for e in events if e["type"] == "epoch_ended"]
    assert list(tw.plots.series("val_loss")[1]) == val and len(val) == 2
    assert list(tw.plots.series("metric")[1]) == acc
    assert tw.ws.document.is_dirty()  # the RunRef is recorded in the project
    assert tw.runs.status_of(str(folder.resolve())) == "finished"
    assert tw.panel.progress.value() == tw.panel.progress.maximum()


def test_stop_takes_effect_within_a_step(qtbot, tw):
    set_small(tw.ws.document, samples=3000, epochs=200)
    _click_train(qtbot, tw)
    seen = _wait_progress(qtbot, tw)
    assert tw.stop_action.isEnabled()
    t0 = time.perf_counter()
    with qtbot.waitSignal(tw.controller.run_ended, timeout=30000) as ended:
        tw.stop_action.trigger()
    assert isinstance(ended.args[0], Stopped)
    assert time.perf_counter() - t0 < 3.0  # generous: the test machine is shared
    assert ended.args[0].step >= seen.step
    assert "Stopped" in tw.panel.status.text()


def test_pause_holds_the_run_and_resume_continues_it(qtbot, tw):
    set_small(tw.ws.document, samples=3000, epochs=200)
    _click_train(qtbot, tw)
    _wait_progress(qtbot, tw)
    steps: list[int] = []
    tw.controller.event_received.connect(
        lambda ev: steps.append(ev.step) if isinstance(ev, Progress) else None)
    tw.pause_action.trigger()
    assert tw.resume_action.isEnabled() and not tw.pause_action.isEnabled()
    qtbot.wait(700)  # events already on their way arrive
    held = len(steps)
    qtbot.wait(1000)
    assert len(steps) == held  # nothing trains while paused
    tw.resume_action.trigger()
    qtbot.waitUntil(lambda: len(steps) > held, timeout=10000)
    with qtbot.waitSignal(tw.controller.run_ended, timeout=30000):
        tw.stop_action.trigger()


def test_killed_worker_is_reported_and_the_editor_keeps_working(qtbot, tw):
    set_small(tw.ws.document, samples=3000, epochs=200)
    doc = tw.ws.document
    _click_train(qtbot, tw)
    _wait_progress(qtbot, tw)
    with qtbot.waitSignal(tw.controller.worker_died, timeout=30000) as died:
        os.kill(tw.controller.worker_pid(), signal.SIGKILL)
    assert "SIGKILL" in died.args[0]
    qtbot.waitUntil(lambda: not tw.controller.busy, timeout=10000)
    assert tw.panel.message.isVisible() and "SIGKILL" in tw.panel.message.text()
    assert "SIGKILL" in tw.window.statusBar().currentMessage()
    old = doc.project.training.lr
    doc.set_field("training", "lr", 0.5)
    assert doc.project.training.lr == 0.5
    doc.undo()
    assert doc.project.training.lr == old
    assert tw.controller.wait_until_ready(90)  # a fresh warm worker
    qtbot.waitUntil(lambda: tw.train_action.isEnabled(), timeout=5000)


def test_runs_list_resumes_a_stopped_run_overlays_and_deletes(qtbot, tw):
    set_small(tw.ws.document, samples=3000, epochs=8)
    _click_train(qtbot, tw)
    _wait_progress(qtbot, tw)
    with qtbot.waitSignal(tw.controller.run_ended, timeout=30000):
        tw.stop_action.trigger()
    run = tw.runs.run_dirs()[0]
    assert tw.runs.status_of(run) == "stopped"
    tw.runs.select_runs([run])
    assert tw.plots.overlay_count() == 1
    assert tw.runs.resume_button.isEnabled()
    assert tw.controller.wait_until_ready(90)
    qtbot.waitUntil(lambda: tw.train_action.isEnabled(), timeout=5000)
    with qtbot.waitSignal(tw.controller.run_ended, timeout=60000) as ended:
        qtbot.mouseClick(tw.runs.resume_button, Qt.MouseButton.LeftButton)
    assert isinstance(ended.args[0], Finished)
    starts = [e for e in _events(run) if e["type"] == "run_started"]
    assert len(starts) == 2 and starts[1]["resumed_from"] > 0
    assert tw.runs.status_of(run) == "finished"
    assert len(tw.ws.document.project.runs) == 1  # resuming adds no second record
    seen: list = []
    timer = answer_next_dialog(lambda d: d.button(QMessageBox.StandardButton.Yes).click(), seen)
    tw.runs.select_runs([run])
    qtbot.mouseClick(tw.runs.delete_button, Qt.MouseButton.LeftButton)
    timer.stop()
    assert seen and not Path(run).exists()
    assert tw.ws.document.project.runs == [] and tw.runs.run_dirs() == []


def test_failed_run_message_is_plain_text(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.on_event(Failed(message="<b>bad</b> data"))
    assert panel.message.text() == "<b>bad</b> data"
    assert panel.message.textFormat() == Qt.TextFormat.PlainText
