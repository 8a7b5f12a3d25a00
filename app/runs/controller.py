"""RunController: a QThread that owns the training worker process and relays its events.

The thread keeps one warm worker (torch already imported, waiting for a job), so Train
starts at once. A job is handed over through a queue; the thread submits it, reads the
worker's events and relays each as a Qt signal with the plain event dataclass as payload.
The hop between threads is a payload-less queued signal plus a deque: the public signals
are emitted in the GUI thread, so no Python object is carried by a queued connection (a
crash under load pointed there) and Python callables connected to them run in the GUI
thread too. After a run ends the used worker exits and a fresh warm
one is started. A worker that dies is reported by WorkerClient as a Failed event; the
controller relays it and also emits ``worker_died`` with the sentence for the user.
"""

from __future__ import annotations

import atexit
import collections
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, Signal

if TYPE_CHECKING:
    from engine.train.worker_client import WorkerClient

#: Seconds to wait before starting another warm worker after one died while idle.
RESTART_DELAY_S = 2.0


def warm_worker_command() -> list[str]:
    """The worker command (frozen-aware); the worker does its slow imports before ready."""
    from engine.train.worker_client import worker_command

    return worker_command()


def worker_threads() -> int:
    """Threads for the worker: every core but one (at least one), leaving a core for the GUI."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


#: Controllers whose thread may be running: held here so none is garbage-collected (or
#: destroyed with a parent widget) while its thread runs; the rest are joined at exit.
_LIVE: set[RunController] = set()


def shutdown_all() -> None:
    for controller in list(_LIVE):
        controller.shutdown()


atexit.register(shutdown_all)


@dataclass(frozen=True)
class Job:
    """One training job: the project as plain JSON data, where it runs, how."""

    project: dict[str, Any]
    run_dir: str
    resume: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


class RunnerControls:
    """What the local and the remote runner share: the state they report and the Stop,
    Pause and Resume commands, each handed to the runner's own ``_control(cmd, state)``."""

    _state: str

    def _control(self, cmd: str, state: str) -> None:
        raise NotImplementedError

    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str) -> None:
        """Either thread: record the state; ``state_changed`` tells the GUI thread."""
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)  # type: ignore[attr-defined]

    def stop_run(self) -> None:
        self._control("stop", "stopping")

    def pause_run(self) -> None:
        self._control("pause", "paused")

    def resume_run(self) -> None:
        self._control("resume", "running")


class RunController(QThread, RunnerControls):
    """Drives one worker process at a time from its own thread.

    Signals: ``worker_ready(pid)`` (a warm worker waits), ``run_submitted(run_dir, resume)``,
    ``event_received(event)`` for every event of the run, ``run_ended(event)`` with the
    terminal event, ``worker_died(message)`` when the process died (during a run or while
    warm), ``state_changed(state)`` with ``starting``, ``ready``, ``running``, ``paused``,
    ``stopping`` or ``closed``.
    """

    worker_ready = Signal(int)
    run_submitted = Signal(str, bool)
    event_received = Signal(object)
    run_ended = Signal(object)
    worker_died = Signal(str)
    state_changed = Signal(str)
    # Crosses threads without a payload: the events wait in a deque and are emitted from
    # the GUI thread, so no Python object rides a queued connection (see the docstring).
    _events_posted = Signal()

    def __init__(self, parent: QObject | None = None, *, env: dict[str, str] | None = None,
                 threads: int | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunController")
        self._threads = threads or worker_threads()
        self._env = dict(os.environ if env is None else env)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            self._env.setdefault(var, str(self._threads))
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._client: WorkerClient | None = None
        self._running_job = False
        self._quitting = False
        self._state = "closed"
        self._ready_event = threading.Event()
        self._pending: collections.deque[tuple[Any, bool]] = collections.deque()
        self._events_posted.connect(self._on_self_events_posted)

    # -- GUI side -------------------------------------------------------------------
    def start_worker(self) -> None:
        """Start the thread and its warm worker (once)."""
        if not self.isRunning() and not self._quitting:
            _LIVE.add(self)
            self.start()

    @property
    def busy(self) -> bool:
        """A job is queued or running."""
        return self._running_job or not self._jobs.empty()

    def worker_pid(self) -> int | None:
        with self._lock:
            return self._client.pid if self._client else None

    def wait_until_ready(self, timeout: float) -> bool:
        """Block until a warm worker waits (tests and benchmarks)."""
        return self._ready_event.wait(timeout)

    def submit(self, job: Job) -> bool:
        """Queue a job; False when one is already queued or running."""
        if self.busy or self._quitting:
            return False
        if job.project.get("training", {}).get("threads", 0) == 0:
            job = Job(job.project, job.run_dir, job.resume,
                      {"training.threads": self._threads, **job.overrides})
        self._running_job = True
        self._jobs.put(job)
        self.start_worker()
        return True

    def shutdown(self, timeout_s: float = 15.0) -> None:
        """Stop a run in progress (it keeps a checkpoint), end the worker, join the thread."""
        if self._quitting and not self.isRunning():
            _LIVE.discard(self)
            return
        self._quitting = True
        self._jobs.put(None)
        with self._lock:
            client, running = self._client, self._running_job
        if client is not None:
            if running:
                client.stop()
            elif client.proc is not None and client.proc.poll() is None:
                client.proc.kill()  # a warm worker holds nothing worth keeping
        if not self.wait(int(timeout_s * 1000)):
            with self._lock:
                client = self._client
            if client is not None and client.proc is not None and client.proc.poll() is None:
                client.proc.kill()
            self.wait()
        _LIVE.discard(self)
        self._set_state("closed")

    def _control(self, cmd: str, state: str) -> None:
        with self._lock:
            client, running = self._client, self._running_job
        if client is None or not running:
            return
        getattr(client, cmd)()
        self._set_state(state)

    def _on_self_events_posted(self) -> None:
        while self._pending:
            ev, terminal = self._pending.popleft()
            self.event_received.emit(ev)
            if terminal:
                self.run_ended.emit(ev)

    def _post(self, ev: Any, terminal: bool = False) -> None:
        """Worker thread: hand an event to the GUI thread."""
        self._pending.append((ev, terminal))
        self._events_posted.emit()

    # -- worker thread --------------------------------------------------------------
    def run(self) -> None:
        # Imported here, in this thread: the engine.train package loads torch, which the
        # editor never needs (design.md section 2).
        from engine.train.worker_client import WorkerClient

        while not self._quitting:
            client = WorkerClient(warm_worker_command(), env=self._env)
            with self._lock:
                self._client = client
            self._ready_event.clear()
            self._set_state("running" if self._running_job else "starting")
            try:
                client.start()
                ready = client.wait_ready()
            except OSError as e:
                ready = None
                self._note_death(f"The training process could not start: {e}")
            if ready is None:
                client.close(timeout=2.0)
                if self._quitting:
                    break
                if self._running_job:  # the job waits: report once, then drop it
                    self._drop_job(client)
                else:
                    self._note_death("The training process ended before it was ready; "
                                     "starting another one.")
                    if self._wait_quit(RESTART_DELAY_S):
                        break
                continue
            self._ready_event.set()
            if not self._running_job:
                self._set_state("ready")
            self.worker_ready.emit(ready.pid)
            job = self._jobs.get()
            if job is None:
                client.close(timeout=2.0)
                break
            self._run_job(client, job)
        with self._lock:
            self._client = None
            self._running_job = False

    def _run_job(self, client: WorkerClient, job: Job) -> None:
        from engine.train.events import TERMINAL, Failed

        self._set_state("running")
        client.submit(job.project, job.run_dir, resume=job.resume, overrides=job.overrides)
        self.run_submitted.emit(job.run_dir, job.resume)
        last = None
        for ev in client.events():
            last = ev
            # Finished/Stopped at once; a failure once the exit status tells whether the
            # worker died (then worker_died comes first)
            if not isinstance(ev, Failed):
                self._post(ev, terminal=isinstance(ev, TERMINAL))
        code = client.close(timeout=10.0)
        with self._lock:
            self._client = None
            self._running_job = False
        if isinstance(last, Failed):
            if code not in (0, 1, 2):  # not a failure the worker reported itself
                self.worker_died.emit(last.message)
            self._post(last, terminal=True)

    def _drop_job(self, client: WorkerClient) -> None:
        from engine.train.events import Failed

        try:
            job = self._jobs.get_nowait()
        except queue.Empty:
            job = None
        if job is None:
            return
        ev = Failed(message="Training failed: the training process could not start.",
                    detail=client.stderr_tail())
        self.worker_died.emit(ev.message)
        self._post(ev, terminal=True)
        with self._lock:
            self._running_job = False

    def _note_death(self, message: str) -> None:
        self.worker_died.emit(message)

    def _wait_quit(self, seconds: float) -> bool:
        try:
            job = self._jobs.get(timeout=seconds)
        except queue.Empty:
            return False
        if job is None:
            return True
        self._jobs.put(job)  # a job came in meanwhile: keep it for the next worker
        return False
