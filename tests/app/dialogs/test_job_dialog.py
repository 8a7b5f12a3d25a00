"""A dialog whose background job cannot be interrupted stays open while it runs."""

from __future__ import annotations

import threading

from app.dialogs.worker import JobDialog, start_job


class _Slow(JobDialog):
    busy_text = "Still working; close when it has finished."

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.make_job_log("Progress appears here.")
        self._thread = start_job(self, lambda _progress: gate.wait(10), succeeded=lambda _r: None,
                                 failed=lambda _m: None, finished=self._release_thread)


def test_closing_while_the_job_runs_says_so_and_keeps_the_dialog(qtbot):
    gate = threading.Event()
    dialog = _Slow(gate)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.busy()
    dialog.reject()
    assert not dialog.close()  # the close event is ignored too
    assert dialog.isVisible()
    assert dialog.job_log.toPlainText().count("Still working") == 2
    gate.set()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=5000)
    assert dialog.close() and not dialog.isVisible()
