"""Background work in the app: the one hop into the GUI thread, and short jobs.

Every thread that has something for the GUI (the run thread, the warm worker's thread, a
job) hands it over through a :class:`GuiHop`: the callable and its arguments wait in a
deque, and a signal *without a payload* crosses the thread boundary; the GUI thread drains
the deque and calls each one there. So no Python object ever rides a queued connection (a
crash under load pointed there, see docs/decisions/0002), and whatever the callable emits
is emitted in the GUI thread.

:class:`Jobs` runs short callables (load a dataset preview, evaluate a run, generate text,
export, test a host) on its own small thread pool and reports in the GUI thread:
``progressed(text)`` for every report, in order (nothing is coalesced: generated text
streams through it a character at a time), then ``finished(result)`` or
``failed(message)``, where the message is :func:`engine.errors.user_message` of the
exception (one sentence, never a traceback). Only the latest submission reports (a panel
that asks again drops what it asked before).
"""

from __future__ import annotations

import collections
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from engine.errors import user_message

#: what a job is given to report progress with (any thread)
Report = Callable[[str], None]


class GuiHop(QObject):
    """Runs callables in the thread this object lives in (the GUI thread), in order."""

    _posted = Signal()  # no payload: see the module docstring

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            collections.deque())
        self._posted.connect(self._on_self_posted)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Any thread: call ``fn(*args)`` in the GUI thread, after what was posted before."""
        self._pending.append((fn, args))
        self._posted.emit()

    def drain(self) -> None:
        """GUI thread: call everything posted so far now (tests, shutdown)."""
        self._on_self_posted()

    def _on_self_posted(self) -> None:
        while self._pending:
            fn, args = self._pending.popleft()
            fn(*args)


class _Task(QRunnable):
    def __init__(self, jobs: Jobs, generation: int, fn: Callable[[Report], Any]) -> None:
        super().__init__()
        self.jobs, self.generation, self.fn = jobs, generation, fn
        self.setAutoDelete(True)

    def run(self) -> None:
        jobs, gen = self.jobs, self.generation
        try:
            result = self.fn(lambda text: jobs.hop.post(jobs._on_progress, gen, text))
        except Exception as e:  # every failure becomes a sentence for the user
            jobs.hop.post(jobs._on_failed, gen, user_message(e), traceback.format_exc())
        else:
            jobs.hop.post(jobs._on_finished, gen, result)


class Jobs(QObject):
    """Short background jobs of one owner (a panel, a dialog), ``threads`` at a time.

    ``submit(fn)`` runs ``fn(report)`` on a pool thread, where ``report(text)`` may be
    called along the way. In the GUI thread, for the latest submission only:
    ``progressed(text)``, then ``finished(result)`` or ``failed(message)``.
    ``busy_changed(bool)`` says whether any job is in flight.
    """

    progressed = Signal(str)
    finished = Signal(object)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, threads: int = 1) -> None:
        super().__init__(parent)
        # The pool first: children are deleted in the order they were made, and a pool's
        # destructor waits for its jobs, so a job that ends then still finds the hop alive.
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.hop = GuiHop(self)
        self._generation = 0
        self._in_flight = 0
        #: the traceback of the latest failure (a "details" view; never shown by default)
        self.last_detail = ""

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    def submit(self, fn: Callable[[Report], Any]) -> int:
        """Run ``fn(report)`` in the background; its number (the latest reports)."""
        self._generation += 1
        self._in_flight += 1
        if self._in_flight == 1:
            self.busy_changed.emit(True)
        self.pool.start(_Task(self, self._generation, fn))
        return self._generation

    def cancel(self) -> None:
        """Forget the jobs in flight: they run to their end, but report nothing."""
        self._generation += 1

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the jobs in flight are done, then deliver what they reported (tests,
        closing a dialog or the window)."""
        done = self.pool.waitForDone(msecs)
        self.hop.drain()
        return done

    # -- GUI thread -------------------------------------------------------------------
    def _ended(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        if self._in_flight == 0:
            self.busy_changed.emit(False)

    def _on_progress(self, generation: int, text: str) -> None:
        if generation == self._generation:
            self.progressed.emit(text)

    def _on_finished(self, generation: int, result: object) -> None:
        self._ended()
        if generation == self._generation:
            self.finished.emit(result)

    def _on_failed(self, generation: int, message: str, detail: str) -> None:
        self._ended()
        if generation == self._generation:
            self.last_detail = detail
            self.failed.emit(message)
