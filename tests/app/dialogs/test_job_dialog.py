"""A dialog whose background job cannot be interrupted stays open while it runs, and hears
of its job in order: each report, then the result or the failure, then the end."""

from __future__ import annotations

import threading

from app.dialogs.job_dialog import JobDialog


class _Slow(JobDialog):
    busy_text = "Still working; close when it has finished."

    def __init__(self) -> None:
        super().__init__()
        self.make_job_log("Progress appears here.")
        self.heard: list[str] = []

    def job_succeeded(self, result: object) -> None:
        self.heard.append(f"result {result}")

    def job_failed(self, message: str) -> None:
        self.heard.append(f"failed {message}")

    def job_ended(self) -> None:
        self.heard.append(f"ended, busy {self.busy()}")


def test_closing_while_the_job_runs_says_so_and_keeps_the_dialog(qtbot):
    gate = threading.Event()
    dialog = _Slow()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.run_job(lambda _report: gate.wait(10))
    assert dialog.busy()
    dialog.reject()
    assert not dialog.close()  # the close event is ignored too
    assert dialog.isVisible()
    assert dialog.job_log.toPlainText().count("Still working") == 2
    gate.set()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=5000)
    assert dialog.heard == ["result True", "ended, busy False"]
    assert dialog.close() and not dialog.isVisible()


def test_reports_go_to_the_log_and_a_failure_is_one_sentence(qtbot):
    dialog = _Slow()
    qtbot.addWidget(dialog)

    def job(report):
        report("step 1")
        report("step 2")
        raise OSError(2, "No such file or directory", "missing.onnx")

    dialog.run_job(job)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=5000)
    assert dialog.job_log.toPlainText().splitlines() == ["step 1", "step 2"]
    assert len(dialog.heard) == 2 and dialog.heard[1] == "ended, busy False"
    assert dialog.heard[0].startswith("failed ") and "missing.onnx" in dialog.heard[0]
    assert "Traceback" not in dialog.heard[0]


def test_wait_joins_the_job_and_drops_its_result(qtbot):
    gate = threading.Event()
    dialog = _Slow()
    qtbot.addWidget(dialog)
    dialog.run_job(lambda _report: gate.wait(10))
    gate.set()
    dialog.wait()
    assert not dialog.busy() and dialog.heard == []
