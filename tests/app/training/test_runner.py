"""The one runner: drains any event source in its thread, relays every event in the GUI
thread, and its state follows the events (not the commands sent)."""

from __future__ import annotations

import threading

import pytest

from app.runs.runner import Runner
from engine.train.events import (
    Detached,
    Failed,
    Finished,
    Notice,
    Paused,
    Resumed,
    RunStarted,
    Status,
)


class ScriptedSource:
    """Yields its events, waiting at each ``None`` until a control arrives."""

    def __init__(self, script):
        self.script = script
        self.controls: list[str] = []
        self.go = threading.Event()

    def events(self):
        for ev in self.script:
            if ev is None:
                assert self.go.wait(30)
                self.go.clear()
                continue
            yield ev

    def _control(self, cmd):
        self.controls.append(cmd)
        self.go.set()

    def stop(self):
        self._control("stop")

    def pause(self):
        self._control("pause")

    def resume(self):
        self._control("resume")

    def close(self):
        self._control("close")


@pytest.fixture
def runner(qtbot):
    r = Runner()
    yield r
    r.shutdown()
    r.deleteLater()


def test_the_state_follows_the_events(qtbot, runner):
    source = ScriptedSource([Status(state="connecting"), RunStarted(run_dir="r"), None,
                             Paused(step=3), None, Resumed(step=3), None, Finished()])
    states: list[str] = []
    got: list = []
    runner.state_changed.connect(states.append)
    runner.event_received.connect(got.append)
    assert runner.submit(lambda: source, "r")
    assert not runner.submit(lambda: source, "other")  # one source at a time
    qtbot.waitUntil(lambda: runner.state == "running")
    runner.pause_run()
    qtbot.waitUntil(lambda: runner.state == "paused")
    assert source.controls == ["pause"]
    runner.resume_run()
    assert runner.state == "paused"  # until the run says it goes on
    qtbot.waitUntil(lambda: runner.state == "running")
    with qtbot.waitSignal(runner.run_ended) as ended:
        runner.stop_run()
    assert isinstance(ended.args[0], Finished)
    assert states == ["starting", "connecting", "running", "paused", "running", "idle"]
    assert [type(e) for e in got] == [Status, RunStarted, Paused, Resumed, Finished]
    assert not runner.busy and runner.run_dir is None


def test_a_lost_link_comes_back_to_the_state_the_user_left(qtbot, runner):
    source = ScriptedSource([RunStarted(), Paused(), Status(state="reconnecting"),
                             Status(state="connected"), Detached(run_dir="r")])
    states: list[str] = []
    runner.state_changed.connect(states.append)
    with qtbot.waitSignal(runner.run_ended) as ended:
        runner.submit(lambda: source, "r")
    assert isinstance(ended.args[0], Detached)
    assert states == ["starting", "running", "paused", "reconnecting", "paused", "idle"]


def test_a_source_that_breaks_ends_as_a_failure_with_a_sentence(qtbot, runner):
    def broken():
        raise OSError(28, "No space left on device", "/runs/x")

    got: list = []
    runner.event_received.connect(got.append)
    with qtbot.waitSignal(runner.run_ended) as ended:
        runner.submit(broken, "r")
    assert isinstance(got[0], Notice) and "/runs/x: the disk is full" in got[0].message
    assert isinstance(ended.args[0], Failed) and runner.state == "idle"
    assert runner.submit(lambda: ScriptedSource([Finished()]), "r2")  # and it goes on


def test_shutdown_lets_go_of_the_source(qtbot, runner):
    source = ScriptedSource([RunStarted(), None, Detached()])
    runner.submit(lambda: source, "r")
    qtbot.waitUntil(lambda: runner.state == "running")
    runner.shutdown()
    assert source.controls == ["close"] and not runner.isRunning()
    assert runner.state == "closed"
