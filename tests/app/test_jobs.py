"""Jobs: short background work that reports in the GUI thread, through the one hop."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from app.runs.jobs import Jobs
from engine.data.core import DataError


def test_every_report_arrives_in_order_in_the_gui_thread_then_the_result(qtbot):
    jobs = Jobs()
    heard: list[object] = []
    threads: set[bool] = set()

    def note(what: object) -> None:
        threads.add(QThread.currentThread() is jobs.thread())
        heard.append(what)

    jobs.progressed.connect(note)
    jobs.finished.connect(lambda result: note(("result", result)))

    def job(report):
        for ch in "abcdef":
            report(ch)
        return 42

    with qtbot.waitSignal(jobs.finished, timeout=5000):
        jobs.submit(job)
    assert heard == [*"abcdef", ("result", 42)]  # nothing coalesced, nothing reordered
    assert threads == {True}


def test_a_failure_is_one_sentence_and_the_traceback_is_kept(qtbot):
    jobs = Jobs()

    def job(_report):
        raise DataError("the folder has no images")

    with qtbot.waitSignal(jobs.failed, timeout=5000) as blocker:
        jobs.submit(job)
    assert blocker.args == ["the folder has no images"]
    assert "Traceback" in jobs.last_detail and "DataError" in jobs.last_detail


def test_only_the_latest_submission_reports_and_busy_follows_all(qtbot):
    jobs = Jobs(threads=2)
    gate = threading.Event()
    results: list[object] = []
    busy: list[bool] = []
    jobs.finished.connect(results.append)
    jobs.busy_changed.connect(busy.append)
    jobs.submit(lambda _report: gate.wait(10) and "first")
    jobs.submit(lambda _report: "second")
    qtbot.waitUntil(lambda: results == ["second"], timeout=5000)
    assert jobs.busy  # the first one still runs
    gate.set()
    qtbot.waitUntil(lambda: not jobs.busy, timeout=5000)
    assert results == ["second"] and busy == [True, False]


def test_cancel_then_wait_drops_what_was_in_flight(qtbot):
    jobs = Jobs()
    gate = threading.Event()
    heard: list[object] = []
    jobs.progressed.connect(heard.append)
    jobs.finished.connect(heard.append)

    def job(report):
        gate.wait(10)
        report("late")
        return "late result"

    jobs.submit(job)
    jobs.cancel()
    gate.set()
    assert jobs.wait(5000)
    assert heard == [] and not jobs.busy


def test_wait_delivers_what_was_reported(qtbot):
    jobs = Jobs()
    results: list[object] = []
    jobs.finished.connect(results.append)
    jobs.submit(lambda _report: "done")
    assert jobs.wait(5000)
    assert results == ["done"] and not jobs.busy
