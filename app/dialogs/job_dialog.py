"""A one-shot background job for the dialogs: runs a function on a QThread and reports back
with queued signals, so an export, an import or an SSH probe never freezes the window.

The function gets a ``progress(text)`` callback it may call from the worker thread. Expected
failures (the engine's user-facing errors) arrive as their message; anything else as
``Type: message``, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QPlainTextEdit, QWidget

from engine.project import ProjectError

Job = Callable[[Callable[[str], None]], Any]


def error_text(e: BaseException) -> str:
    """One line for the user: the engine's own sentence, or the exception type and message."""
    from engine.export import ExportError
    from engine.remote.config import RemoteError

    if isinstance(e, ExportError | ProjectError | RemoteError):
        return str(e)
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


class JobThread(QThread):
    """Runs ``job(progress)`` once. Emits ``progressed(text)`` along the way, then exactly one
    of ``succeeded(result)`` or ``failed(message)``."""

    progressed = Signal(str)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, job: Job, parent=None) -> None:
        super().__init__(parent)
        self._job = job

    def run(self) -> None:
        try:
            result = self._job(self.progressed.emit)
        except Exception as e:  # noqa: BLE001 - every failure becomes a message for the user
            self.failed.emit(error_text(e))
        else:
            self.succeeded.emit(result)


def start_job(owner, job: Job, *, succeeded: Callable[[Any], None], failed: Callable[[str], None],
              finished: Callable[[], None],
              progressed: Callable[[str], None] | None = None) -> JobThread:
    """Run ``job`` on a new JobThread owned by ``owner``, with its signals connected."""
    thread = JobThread(job, owner)
    if progressed is not None:
        thread.progressed.connect(progressed)
    thread.succeeded.connect(succeeded)
    thread.failed.connect(failed)
    thread.finished.connect(finished)
    thread.start()
    return thread


def release(thread: JobThread | None) -> None:
    """Join a finished job thread and delete it on the GUI thread."""
    if thread is not None:
        thread.wait()
        thread.deleteLater()


class JobDialog(QDialog):
    """A dialog that runs one JobThread at a time (``self._thread`` while it runs) and
    cannot interrupt it: closing it meanwhile adds ``busy_text`` to ``self.job_log`` and
    keeps it open. Subclasses set ``busy_text`` and make the view with ``make_job_log``."""

    busy_text = "The job is still running; close when it has finished."
    job_log: QPlainTextEdit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thread: JobThread | None = None

    def make_job_log(self, placeholder: str, min_height: int = 0) -> QPlainTextEdit:
        """The read-only text view where the job reports (and ``busy_text`` goes)."""
        self.job_log = QPlainTextEdit()
        self.job_log.setReadOnly(True)
        self.job_log.setPlaceholderText(placeholder)
        if min_height:
            self.job_log.setMinimumHeight(min_height)
        return self.job_log

    def busy(self) -> bool:
        return self._thread is not None

    def wait(self) -> None:
        """Block until a running job has finished (tests, closing the app)."""
        if self._thread is not None:
            self._thread.wait()

    def _release_thread(self) -> None:
        """GUI thread, once the job has finished: join and drop its thread."""
        release(self._thread)
        self._thread = None

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
