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
from engine.train.events import Failed, Finished, Notice, Paused, Progress, Resumed, Stopped
from tests.app.helpers import answer_next_dialog
from tests.app.training.conftest import set_small


def _events(run_dir: str) -> list[dict]:
    return [json.loads(line) for line in Path(run_dir, "events.jsonl").read_text().splitlines()]


def _click_train(qtbot, ui) -> None:
    qtbot.mouseClick(ui.panel.buttons[0], Qt.MouseButton.LeftButton)


def _wait_event(qtbot, ui, cls, timeout: int = 60000):
    with qtbot.waitSignal(ui.runner.event_received, timeout=timeout,
                          check_params_cb=lambda ev: isinstance(ev, cls)) as blocker:
        pass
    return blocker.args[0]


def _wait_progress(qtbot, ui) -> Progress:
    return _wait_event(qtbot, ui, Progress)


def test_train_click_runs_to_completion_and_plots_hold_every_point(qtbot, tw):
    perspectives = tw.window.content.perspectives
    assert perspectives.current == "design"
    with qtbot.waitSignal(tw.runner.run_ended, timeout=60000) as ended:
        _click_train(qtbot, tw)
        assert perspectives.current == "train"  # a start shows the plots at once
    assert isinstance(ended.args[0], Finished)
    run_dir = tw.document.project.runs[-1]
    folder = Path(tw.document.path).parent / run_dir.path
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
    assert tw.document.is_dirty()  # the RunRef is recorded in the project
    assert tw.runs.status_of(str(folder.resolve())) == "finished"
    assert tw.panel.progress.value() == tw.panel.progress.maximum()


def test_stop_takes_effect_within_a_step(qtbot, tw):
    set_small(tw.document, samples=3000, epochs=200)
    _click_train(qtbot, tw)
    seen = _wait_progress(qtbot, tw)
    assert tw.stop_action.isEnabled()
    t0 = time.perf_counter()
    with qtbot.waitSignal(tw.runner.run_ended, timeout=30000) as ended:
        tw.stop_action.trigger()
    assert isinstance(ended.args[0], Stopped)
    assert time.perf_counter() - t0 < 3.0  # generous: the test machine is shared
    assert ended.args[0].step >= seen.step
    assert "Stopped" in tw.panel.status.text()


def test_pause_holds_the_run_and_resume_continues_it(qtbot, tw):
    set_small(tw.document, samples=3000, epochs=200)
    _click_train(qtbot, tw)
    _wait_progress(qtbot, tw)
    seen: list = []
    tw.runner.event_received.connect(seen.append)
    with qtbot.waitSignal(tw.runner.event_received, timeout=10000,
                          check_params_cb=lambda ev: isinstance(ev, Paused)) as paused:
        tw.pause_action.trigger()
        assert tw.pause_action.isEnabled()  # the state follows the event, not the command
    assert tw.runner.state == "paused" and tw.panel.status.text() == "Paused"
    assert tw.resume_action.isEnabled() and not tw.pause_action.isEnabled()
    with qtbot.waitSignal(tw.runner.event_received, timeout=10000,
                          check_params_cb=lambda ev: isinstance(ev, Resumed)) as resumed:
        tw.resume_action.trigger()
    assert tw.runner.state == "running"
    between = seen[seen.index(paused.args[0]) + 1: seen.index(resumed.args[0])]
    assert not any(isinstance(ev, Progress) for ev in between)  # nothing trains while paused
    assert resumed.args[0].step == paused.args[0].step
    _wait_progress(qtbot, tw)  # and it goes on
    with qtbot.waitSignal(tw.runner.run_ended, timeout=30000):
        tw.stop_action.trigger()


def test_killed_worker_is_reported_and_the_editor_keeps_working(qtbot, tw):
    set_small(tw.document, samples=3000, epochs=200)
    doc = tw.document
    _click_train(qtbot, tw)
    _wait_progress(qtbot, tw)
    with qtbot.waitSignal(tw.runner.event_received, timeout=30000,
                          check_params_cb=lambda ev: isinstance(ev, Notice)) as died:
        os.kill(tw.runner.source().pid, signal.SIGKILL)
    assert "SIGKILL" in died.args[0].message
    qtbot.waitUntil(lambda: not tw.runner.busy, timeout=10000)
    assert tw.panel.message.isVisible() and "SIGKILL" in tw.panel.message.text()
    assert "SIGKILL" in tw.window.statusBar().currentMessage()
    old = doc.project.training.lr
    doc.set_field("training", "lr", 0.5)
    assert doc.project.training.lr == 0.5
    doc.undo()
    assert doc.project.training.lr == old
    assert tw.warm.wait_ready(90)  # a fresh warm worker
    qtbot.waitUntil(lambda: tw.train_action.isEnabled(), timeout=5000)


def test_runs_list_resumes_a_stopped_run_overlays_and_deletes(qtbot, tw):
    set_small(tw.document, samples=3000, epochs=8)
    _click_train(qtbot, tw)
    _wait_progress(qtbot, tw)
    with qtbot.waitSignal(tw.runner.run_ended, timeout=30000):
        tw.stop_action.trigger()
    run = tw.runs.run_dirs()[0]
    assert tw.runs.status_of(run) == "stopped"
    tw.runs.select_runs([run])
    assert tw.plots.overlay_count() == 1
    assert tw.runs.resume_button.isEnabled()
    assert tw.warm.wait_ready(90)
    qtbot.waitUntil(lambda: tw.train_action.isEnabled(), timeout=5000)
    with qtbot.waitSignal(tw.runner.run_ended, timeout=60000) as ended:
        qtbot.mouseClick(tw.runs.resume_button, Qt.MouseButton.LeftButton)
    assert isinstance(ended.args[0], Finished)
    starts = [e for e in _events(run) if e["type"] == "run_started"]
    assert len(starts) == 2 and starts[1]["resumed_from"] > 0
    assert tw.runs.status_of(run) == "finished"
    assert len(tw.document.project.runs) == 1  # resuming adds no second record
    seen: list = []
    timer = answer_next_dialog(lambda d: d.button(QMessageBox.StandardButton.Yes).click(), seen)
    tw.runs.select_runs([run])
    qtbot.mouseClick(tw.runs.delete_button, Qt.MouseButton.LeftButton)
    timer.stop()
    assert seen and not Path(run).exists()
    assert tw.document.project.runs == [] and tw.runs.run_dirs() == []


def test_failed_run_message_is_plain_text(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.on_event(Failed(message="<b>bad</b> data"))
    assert panel.message.text() == "<b>bad</b> data"
    assert panel.message.textFormat() == Qt.TextFormat.PlainText
