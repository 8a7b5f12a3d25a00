"""JobDialog: the base of the dialogs that run one background job at a time (an export, an
import, an SSH probe) without freezing the window.

The job runs on the dialog's :class:`app.runs.jobs.Jobs` (the one way to run short
background work, with the one hop into the GUI thread): it gets a ``report(text)`` callback
it may call from its thread, and comes back as plain values. Any failure arrives as one
sentence (:func:`engine.errors.user_message`), never as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QPlainTextEdit, QWidget

from app.runs.jobs import Jobs, Report

#: a dialog's job: ``job(report)`` returns the result ``job_succeeded`` gets
Job = Callable[[Report], Any]


class JobDialog(QDialog):
    """A dialog that runs one job at a time (:meth:`run_job`) and cannot interrupt it:
    closing it meanwhile adds ``busy_text`` to ``self.job_log`` and keeps it open.

    Subclasses set ``busy_text``, make the view with :meth:`make_job_log` and override the
    hooks, called in the GUI thread: :meth:`job_progressed` for each report (by default the
    line goes to the log), then :meth:`job_succeeded` or :meth:`job_failed`, then
    :meth:`job_ended` (the dialog is no longer busy by then)."""

    busy_text = "The job is still running; close when it has finished."
    job_log: QPlainTextEdit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = Jobs(self)
        self.jobs.progressed.connect(self.job_progressed)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)

    def make_job_log(self, placeholder: str, min_height: int = 0) -> QPlainTextEdit:
        """The read-only text view where the job reports (and ``busy_text`` goes)."""
        self.job_log = QPlainTextEdit()
        self.job_log.setReadOnly(True)
        self.job_log.setPlaceholderText(placeholder)
        if min_height:
            self.job_log.setMinimumHeight(min_height)
        return self.job_log

    def run_job(self, job: Job) -> None:
        """Run ``job(report)`` in the background (the caller checked :meth:`busy`)."""
        self.jobs.submit(job)

    def busy(self) -> bool:
        return self.jobs.busy

    def wait(self) -> None:
        """Block until a running job has finished, and drop what it reports: the dialog is
        going away (closing the app, the end of a test)."""
        self.jobs.cancel()
        self.jobs.wait()

    # -- hooks (GUI thread) ------------------------------------------------------------
    def job_progressed(self, text: str) -> None:
        self.job_log.appendPlainText(text)

    def job_succeeded(self, result: Any) -> None:
        """The job returned ``result``."""

    def job_failed(self, message: str) -> None:
        """The job raised; ``message`` is the sentence for the user."""

    def job_ended(self) -> None:
        """After :meth:`job_succeeded` or :meth:`job_failed`."""

    def _on_jobs_finished(self, result: object) -> None:
        self.job_succeeded(result)
        self.job_ended()

    def _on_jobs_failed(self, message: str) -> None:
        self.job_failed(message)
        self.job_ended()

    # -- closing -----------------------------------------------------------------------
    def reject(self) -> None:
        if self.busy():
            self.job_log.appendPlainText(self.busy_text)
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.busy():
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)
