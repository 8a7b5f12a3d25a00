"""Runner: the one QThread that drains event sources and relays their events.

Any :class:`engine.train.source.EventSource` (a job on the local warm worker, a run on an
SSH host, later a sweep trial) is drained the same way: the thread iterates its
``events()`` and hands each event to the GUI thread through a :class:`GuiHop`, where it is
emitted as ``event_received(event)``; the event that ends the source (finished, stopped,
failed, or detached from a run that goes on elsewhere) is also emitted as
``run_ended(event)``. Readers dispatch on the event classes.

The runner's ``state`` follows the events, never the commands it sent: ``idle``, then
``starting`` once a source is submitted, ``connecting``/``uploading``/``downloading``/
``reconnecting`` as the source's :class:`Status` events say, ``running`` once the run has
started or resumed, ``paused`` when the run says it is, and ``idle`` again at its end
(``closed`` after shutdown). Stop, Pause and Resume go straight to the source, which may
be called from any thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal

from app.runs.jobs import GuiHop
from engine.errors import user_message
from engine.train.events import ENDS, Event, Failed, Notice, Paused, Resumed, RunStarted, Status

if TYPE_CHECKING:
    from engine.train.source import EventSource

#: a source is made in the run thread (it may connect, upload, wait for a worker)
SourceFactory = Callable[[], "EventSource"]
#: how long ``shutdown`` lets a source end by itself before it is killed
SHUTDOWN_S = 15.0


class Runner(QThread):
    """One source at a time, drained in this thread. Signals (GUI thread):
    ``event_received(event)`` for every event, ``run_ended(event)`` with the one that ended
    the source, ``state_changed(state)``."""

    event_received = Signal(object)
    run_ended = Signal(object)
    state_changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Runner")
        self.hop = GuiHop()  # lives in the GUI thread (this QThread object does too)
        self._jobs: queue.Queue[tuple[SourceFactory, str] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._source: EventSource | None = None
        self._busy = False
        self._closing = False
        self._state = "idle"
        self._before_lost = "running"
        #: the run folder of the source being drained (None between runs)
        self.run_dir: str | None = None

    # -- GUI thread -------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        """A source is queued or being drained."""
        return self._busy

    def source(self) -> EventSource | None:
        """The source being drained (tests reach its worker process through it)."""
        with self._lock:
            return self._source

    def submit(self, factory: SourceFactory, run_dir: str) -> bool:
        """Drain the source ``factory()`` makes (in the run thread); False while another
        is queued or running, or after shutdown."""
        if self._busy or self._closing:
            return False
        self._busy = True
        self.run_dir = run_dir
        self._set_state("starting")
        self._jobs.put((factory, run_dir))
        if not self.isRunning():
            self.start()
        return True

    def stop_run(self) -> None:
        self._control("stop")

    def pause_run(self) -> None:
        self._control("pause")

    def resume_run(self) -> None:
        self._control("resume")

    def detach(self) -> None:
        """Let go of the source: a remote run goes on on its host (Attach follows it
        again); a local run stops, keeping a checkpoint."""
        with self._lock:
            source = self._source
        if source is not None:
            source.close()

    def shutdown(self, timeout_s: float = SHUTDOWN_S) -> None:
        """Let go of the source in progress and join the thread. Once; idempotent."""
        if self._closing and not self.isRunning():
            return
        self._closing = True
        self.detach()
        self._jobs.put(None)
        if self.isRunning() and not self.wait(int(timeout_s * 1000)):
            with self._lock:
                source = self._source
            kill = getattr(source, "kill", None)
            if kill is not None:
                kill()  # it did not stop in time: end its process
            self.wait()
        self.hop.drain()
        self._busy = False
        self._set_state("closed")

    def _control(self, cmd: str) -> None:
        with self._lock:
            source = self._source
        if source is not None:
            getattr(source, cmd)()

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _deliver(self, ev: Event) -> None:
        """GUI thread: follow the event's news in the state, then tell the readers."""
        match ev:
            case Status(state="reconnecting"):
                if self._state != "reconnecting":
                    self._before_lost = self._state
                self._set_state("reconnecting")
            case Status(state="connected"):  # the link is back: as the user left the run
                if self._state == "reconnecting":
                    self._set_state(self._before_lost)
            case Status(state=state):
                self._set_state(state)
            case RunStarted() | Resumed():
                self._set_state("running")
            case Paused():
                self._set_state("paused")
        ended = isinstance(ev, ENDS)
        if ended:
            self._busy = False
            self.run_dir = None
            self._set_state("closed" if self._closing else "idle")
        self.event_received.emit(ev)
        if ended:
            self.run_ended.emit(ev)

    # -- run thread -------------------------------------------------------------------
    def run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            self._drain(*item)

    def _drain(self, factory: SourceFactory, run_dir: str) -> None:
        last: Event | None = None
        try:
            source = factory()
            with self._lock:
                self._source = source
                closing = self._closing
            if closing:
                source.close()
            for ev in source.events():
                last = ev
                self.hop.post(self._deliver, ev)
                if isinstance(ev, ENDS):
                    break
        except Exception as e:  # a defect must not leave the window waiting forever
            message = f"The run could not go on: {user_message(e)}"
            self.hop.post(self._deliver, Notice(message=message))
            last = Failed(message=message)
            self.hop.post(self._deliver, last)
        finally:
            with self._lock:
                self._source = None
        if not isinstance(last, ENDS):  # the source ended without saying how
            self.hop.post(self._deliver, Failed(message="The run ended without a result."))
