"""Event sources: anything that yields one run's training events and takes its controls.

A local worker process, a run on an SSH host and (later) a sweep trial or a cluster job all
implement :class:`EventSource`, so whoever drains one (the CLI, the app's one runner thread,
a sweep scheduler) needs no code of its own per kind of run:

- ``events()`` blocks and yields :mod:`engine.train.events` instances until one of
  ``ENDS`` (finished, stopped, failed, or detached from a run that goes on elsewhere);
- ``stop()``, ``pause()`` and ``resume()`` may be called from any thread while another
  iterates ``events()``; their effect is *reported* by the events that follow (``Paused``,
  ``Resumed``, ``Stopped``), never assumed;
- ``close()`` lets go: a local source ends its worker (a run in progress stops with a
  checkpoint), a remote one detaches (the run goes on on its host).

This module also holds the local implementations: :class:`WarmWorker` keeps one worker
process started ahead of time (torch imported, waiting for a job), and :class:`LocalRun`
runs one job on it (the app's runs and ``layerforge train``: one job per process).
:mod:`engine.train.reused_worker` keeps one process that runs job after job (a sweep's
local lane). Plain Python, no torch and no Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine.train.events import ENDS, Event, Failed, Notice, Ready
from engine.train.worker_client import WorkerClient, worker_command

#: Seconds before another warm worker is started after one died while idle.
RESTART_DELAY_S = 2.0
#: Exit codes of a worker that reported its own end (0 done, 1 failed, 2 malformed job).
_REPORTED = (0, 1, 2)


@runtime_checkable
class EventSource(Protocol):
    """One run's events and controls (see the module docstring for the contract)."""

    def events(self) -> Iterator[Event]: ...

    def stop(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Job:
    """One training job for a worker: the project as plain JSON data, its run folder, and
    whether it resumes the run there."""

    project: dict[str, Any]
    run_dir: str
    resume: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


class WarmWorker:
    """Keeps one worker process started and ready ahead of time, so a run starts at once.

    A background thread spawns a worker and waits for its ``ready``; ``take()`` hands the
    ready worker over. The next one is spawned only when the taken one is handed back with
    ``replenish()`` (after its run), so it does not compete with a run for the CPU. A
    worker that dies while warm is reported through ``on_died`` and replaced after
    ``RESTART_DELAY_S``. ``on_starting()``, ``on_ready(ready)`` (the worker's
    :class:`Ready` event: pid, torch version) and ``on_died(message)`` are called from the
    background thread.
    """

    def __init__(self, env: dict[str, str] | None = None, *,
                 on_starting: Callable[[], None] | None = None,
                 on_ready: Callable[[Ready], None] | None = None,
                 on_died: Callable[[str], None] | None = None,
                 command: list[str] | None = None) -> None:
        self.env = env
        self.command = command or worker_command()
        self.on_starting = on_starting or (lambda: None)
        self.on_ready = on_ready or (lambda _ready: None)
        self.on_died = on_died or (lambda _msg: None)
        self._cond = threading.Condition()
        self._client: WorkerClient | None = None  # the warm one, starting or ready
        self._ready = False
        self._failed: str | None = None  # why the last start died before it was ready
        self._wanted = True  # False while the last one is lent to a run
        self._closed = False
        self._thread: threading.Thread | None = None
        self._ready_flag = threading.Event()

    # -- any thread ---------------------------------------------------------------------
    def start(self) -> None:
        """Start keeping a warm worker (once; later calls do nothing)."""
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._keep, daemon=True, name="warm-worker")
            self._thread.start()

    def pid(self) -> int | None:
        """The process id of the warm worker (None while none is started or ready)."""
        with self._cond:
            client = self._client
        return client.pid if client else None

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until a warm worker waits for a job (tests and benchmarks)."""
        return self._ready_flag.wait(timeout)

    def take(self) -> WorkerClient | Failed:
        """The ready worker, once there is one (blocks); a :class:`Failed` event when the
        worker started for it died before it was ready, or when closed meanwhile."""
        self.start()
        with self._cond:
            self._failed = None
            while not self._ready and self._failed is None and not self._closed:
                self._cond.wait()
            if self._ready and self._client is not None:
                client, self._client, self._ready = self._client, None, False
                self._wanted = False
                self._ready_flag.clear()
                self._cond.notify_all()
                return client
            detail = self._failed or ""
        return Failed(message="Training failed: the training process could not start.",
                      detail=detail)

    def replenish(self) -> None:
        """The lent worker's run is over: start the next warm one."""
        with self._cond:
            self._wanted = True
            self._cond.notify_all()

    def close(self, timeout: float = 2.0) -> None:
        """Stop keeping a warm worker; one that waits (or starts) is ended: it holds
        nothing. A worker lent to a run is its run's to close."""
        with self._cond:
            self._closed = True
            client, self._client, self._ready = self._client, None, False
            self._cond.notify_all()
        if client is not None:
            client.close(timeout=timeout)  # its stdin closes: it exits before or at its job
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout + 5.0)

    # -- background thread --------------------------------------------------------------
    def _keep(self) -> None:
        while True:
            with self._cond:
                while not self._wanted and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                client = WorkerClient(self.command, env=self.env)
                self._client = client
            self.on_starting()
            why = ""
            try:
                client.start()
                ready = client.wait_ready()
            except OSError as e:
                ready, why = None, str(e)
            with self._cond:
                if self._closed:
                    return
                if ready is not None:
                    self._ready = True
                    self._ready_flag.set()
                else:
                    self._client = None
                    self._failed = why or client.stderr_tail() or "it exited at once"
                self._cond.notify_all()
            if ready is not None:
                self.on_ready(ready)
                with self._cond:  # until it is taken (or closed)
                    while self._client is client and not self._closed:
                        self._cond.wait()
                continue
            client.close(timeout=2.0)
            self.on_died("The training process ended before it was ready; starting another one.")
            with self._cond:
                self._cond.wait_for(lambda: self._closed, RESTART_DELAY_S)


class SendsControls:
    """Stop, Pause and Resume of a run on a worker process: each a control line sent
    through the subclass's ``_send``, to the job's worker while it runs."""

    def _send(self, cmd: str) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._send("stop")

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")


class LocalRun(SendsControls):
    """One job on a local worker process (taken from a :class:`WarmWorker`, or a fresh
    one). A worker that dies without reporting its end yields a :class:`Notice` with the
    reason, then the :class:`Failed` event."""

    def __init__(self, job: Job, warm: WarmWorker | None = None, *,
                 env: dict[str, str] | None = None) -> None:
        self.job = job
        self._warm = warm
        self._env = env
        self._lock = threading.Lock()
        self._client: WorkerClient | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._client.pid if self._client else None

    def events(self) -> Iterator[Event]:
        got = self._warm.take() if self._warm is not None else self._fresh()
        if isinstance(got, Failed):
            yield Notice(message=got.message)
            yield got
            return
        with self._lock:
            self._client = got
            closed = self._closed
        try:
            if closed:
                return
            job = self.job
            got.submit(job.project, job.run_dir, resume=job.resume, overrides=job.overrides)
            for ev in got.events():
                if isinstance(ev, Failed):
                    code = got.close(timeout=10.0)
                    if code not in _REPORTED:  # it died: not a failure it reported itself
                        yield Notice(message=ev.message)
                    yield ev
                    return
                yield ev
                if isinstance(ev, ENDS):
                    return
        finally:
            got.close(timeout=10.0)
            if self._warm is not None:
                self._warm.replenish()

    def _fresh(self) -> WorkerClient | Failed:
        client = WorkerClient(env=self._env)
        try:
            client.start()
        except OSError as e:
            return Failed(message=f"Training failed: the training process could not start ({e}).")
        return client

    def close(self) -> None:
        """Stop a run in progress (it keeps a checkpoint); the worker then exits."""
        with self._lock:
            self._closed = True
            client = self._client
        if client is not None:
            client.stop()

    def kill(self) -> None:
        """End the worker at once (a stop that did not take effect in time)."""
        with self._lock:
            client = self._client
        if client is not None and client.proc is not None and client.proc.poll() is None:
            client.proc.kill()

    def _send(self, cmd: str) -> None:
        with self._lock:
            client = self._client
        if client is not None:
            getattr(client, cmd)()

