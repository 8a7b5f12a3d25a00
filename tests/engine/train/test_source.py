"""Event sources: the warm worker hands over a ready process, a local run on it yields the
run's events (pause and resume reported by the run itself), a worker that dies is reported
as a Notice then a Failed event, and every source kind meets the one protocol."""

from __future__ import annotations

import os
import signal
import threading

from engine.train.events import (
    ENDS,
    EpochEnded,
    Failed,
    Finished,
    Notice,
    Paused,
    Progress,
    Resumed,
    Stopped,
)
from engine.train.source import EventSource, Job, LocalRun, WarmWorker
from tests.engine.train.helpers import tiny_mlp


def _job(tmp_path, name="run", **fields) -> Job:
    return Job(tiny_mlp(**fields).model_dump(mode="json"), str(tmp_path / name))


def test_the_warm_worker_hands_over_a_ready_process_and_then_warms_the_next(tmp_path):
    ready: list[int] = []
    warm = WarmWorker(on_ready=ready.append)
    try:
        warm.start()
        assert warm.wait_ready(90)
        first = warm.pid()
        run = LocalRun(_job(tmp_path), warm)
        events = list(run.events())
        assert isinstance(events[-1], Finished)
        assert ready[0].pid == first  # the run went to the process that was warm
        assert warm.wait_ready(90)  # handed back: the next one is warm
        assert warm.pid() not in (None, first)
    finally:
        warm.close()
    assert warm.pid() is None


def test_a_local_run_reports_pause_and_resume_as_events(tmp_path):
    run = LocalRun(_job(tmp_path, training__epochs=200))
    assert isinstance(run, EventSource)
    seen = []
    for ev in run.events():
        seen.append(ev)
        if isinstance(ev, EpochEnded) and not any(isinstance(e, Paused) for e in seen):
            run.pause()
        elif isinstance(ev, Paused):
            run.resume()
        elif isinstance(ev, Resumed):
            run.stop()
    kinds = [type(e) for e in seen]
    assert kinds[-1] is Stopped
    i = kinds.index(Paused)
    assert kinds[i + 1] is Resumed  # nothing trained while paused


def test_a_worker_that_dies_is_a_notice_then_a_failure(tmp_path):
    run = LocalRun(_job(tmp_path, training__epochs=200))
    seen, killed = [], False
    for ev in run.events():  # after the kill the run ends by itself, with the news
        seen.append(ev)
        if isinstance(ev, Progress) and not killed:
            os.kill(run.pid, signal.SIGKILL)
            killed = True
    notice, failed = seen[-2], seen[-1]
    assert isinstance(notice, Notice) and "SIGKILL" in notice.message
    assert isinstance(failed, Failed) and failed.message == notice.message


def test_a_warm_worker_that_cannot_start_fails_the_run_it_was_for(tmp_path):
    warm = WarmWorker(command=["/bin/false"])
    died = threading.Event()
    warm.on_died = lambda _msg: died.set()
    try:
        events = list(LocalRun(_job(tmp_path), warm).events())
    finally:
        warm.close()
    assert isinstance(events[0], Notice) and isinstance(events[-1], Failed)
    assert "could not start" in events[-1].message
    assert isinstance(events[-1], ENDS)


def test_the_remote_session_meets_the_protocol():
    from engine.remote.session import RemoteSession

    assert isinstance(RemoteSession("attach", "/nowhere"), EventSource)
