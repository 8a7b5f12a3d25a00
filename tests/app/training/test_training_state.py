"""The training panel's state after a run ends, a failure that no longer applies, and
quitting during a run (issue 14, point 5)."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QMessageBox

from app.panels.training import READY_TEXT
from app.runs.records import add_run_ref
from engine.train.events import Failed, RunStarted, Stopped
from tests.app.helpers import answer_next_dialog


class HeldSource:
    """An event source that yields ``first``, waits for a control, then yields ``last``."""

    def __init__(self, first, last) -> None:
        self.first, self.last = first, last
        self.go = threading.Event()

    def events(self):
        yield from self.first
        assert self.go.wait(30)
        yield self.last

    def stop(self) -> None:
        self.go.set()

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def close(self) -> None:
        self.go.set()


def test_the_buttons_leave_the_training_state_with_the_finished_event(tw, qtbot):
    seen = []

    def on_ended(_ev) -> None:  # what a user sees when "Finished" shows
        seen.append((tw.panel.status.text(), tw.train_action.isEnabled(),
                     tw.stop_action.isEnabled(), tw.pause_action.isEnabled(),
                     tw.panel.worker_state.text()))

    tw.runner.run_ended.connect(on_ended)
    assert tw.train()
    qtbot.waitUntil(lambda: bool(seen), timeout=90_000)
    status, train, stop, pause, worker = seen[0]
    assert status.startswith("Finished")
    assert train and not stop and not pause
    assert "busy" not in worker and "training" not in worker


def test_a_failure_clears_from_the_panel_after_an_edit(ws, qtbot, tmp_path):
    t = ws.training
    run = tmp_path / "runs" / "chain-1"
    run.mkdir(parents=True)
    failed = Failed(message="Training failed: the data set file is missing")
    (run / "events.jsonl").write_text(RunStarted(run_dir=str(run)).to_json() + "\n"
                                      + failed.to_json() + "\n")
    add_run_ref(ws.document, run)
    source = HeldSource([RunStarted(run_dir=str(run))], failed)
    source.go.set()
    with qtbot.waitSignal(t.runner.run_ended):
        assert t.runner.submit(lambda: source, str(run))
    assert t.panel.status.text() == "Training failed"
    assert "data set file is missing" in t.panel.message.text()
    ws.document.set_param("model", "fc1", "out_features", 16)  # the user fixes something
    assert t.panel.status.text() == READY_TEXT and t.panel.message.isHidden()
    assert t.runs.status_of(str(run.resolve())) == "failed"  # the Runs list keeps it


def test_quitting_during_a_run_asks_first(ws, qtbot, tmp_path):
    t = ws.training
    assert t.confirm_close()  # no run: nothing to ask
    source = HeldSource([RunStarted(run_dir=str(tmp_path / "r"))], Stopped(epoch=1))
    assert t.runner.submit(lambda: source, str(tmp_path / "r"))
    qtbot.waitUntil(lambda: t.runner.state == "running")
    seen: list = []

    def press(text: str):
        return lambda box: next(b for b in box.buttons() if b.text() == text).click()

    timer = answer_next_dialog(press("Keep Training"), seen)
    assert not t.confirm_close()
    timer.stop()
    assert isinstance(seen[0], QMessageBox)
    assert "Quitting stops it; it keeps its last checkpoint" in seen[0].text()
    timer = answer_next_dialog(press("Quit"), seen)
    assert t.confirm_close()
    timer.stop()
    with qtbot.waitSignal(t.runner.run_ended):
        t.runner.stop_run()
    assert t.confirm_close()
