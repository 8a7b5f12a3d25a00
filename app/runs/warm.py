"""The app's warm worker: one training process started ahead of time, so Train starts at
once (design.md section 2). It is started after the window shows, never before.

:class:`engine.train.source.WarmWorker` does the work in a thread of its own; this wrapper
brings its news into the GUI thread as signals: ``ready(pid)``, ``gpus_found(names)`` (the
CUDA devices the worker's torch sees, so the editor never imports torch),
``died(message)`` (a warm worker ended before it was ready; another one follows) and
``state_changed(state)`` with
``closed`` (not started), ``starting``, ``ready`` or ``lent`` (running a job).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.runs.jobs import GuiHop
from engine.train.worker_client import worker_command

if TYPE_CHECKING:
    from engine.train.source import Job, LocalRun, WarmWorker


def worker_threads() -> int:
    """Threads for the worker: every core but one (at least one), leaving a core for the GUI."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


class WarmWorkerHolder(QObject):
    ready = Signal(int)
    gpus_found = Signal(list)  # the CUDA device names a worker sees, when they change
    died = Signal(str)
    state_changed = Signal(str)

    def __init__(self, parent: QObject | None = None, *, env: dict[str, str] | None = None,
                 threads: int | None = None, command: list[str] | None = None) -> None:
        super().__init__(parent)
        self.threads = threads or worker_threads()
        self.env = dict(os.environ if env is None else env)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            self.env.setdefault(var, str(self.threads))
        self.hop = GuiHop(self)
        #: the worker's command line (a test may start a wrapper that misbehaves on purpose)
        self.command = command or worker_command()
        #: the torch version the last ready worker reported
        self.torch_version = ""
        #: the CUDA device names the last ready worker reported (device i is ``cuda:i``)
        self.gpus: tuple[str, ...] = ()
        self._warm: WarmWorker | None = None
        self._state = "closed"

    @property
    def state(self) -> str:
        return self._state

    def start(self) -> None:
        """Start keeping a warm worker (once). Imports the engine's process code, no torch."""
        if self._warm is None:
            from engine.train.source import WarmWorker

            self._warm = WarmWorker(
                self.env, command=self.command,
                on_starting=lambda: self.hop.post(self._on_warm_starting),
                on_ready=lambda ready: self.hop.post(self._on_warm_ready, ready.pid,
                                                     ready.torch_version, tuple(ready.gpus)),
                on_died=lambda message: self.hop.post(self._on_warm_died, message))
            self._set_state("starting")
            self._warm.start()

    def wait_ready(self, timeout: float) -> bool:
        """Block until a warm worker waits for a job (tests and benchmarks)."""
        self.start()
        assert self._warm is not None
        ok = self._warm.wait_ready(timeout)
        self.hop.drain()
        return ok

    def pid(self) -> int | None:
        return self._warm.pid() if self._warm is not None else None

    def run(self, job: Job) -> LocalRun:
        """An event source for ``job`` on the warm worker (made in the run thread: it
        waits for the worker to be ready). Training threads default to :func:`worker_threads`."""
        from engine.train.source import Job as JobType
        from engine.train.source import LocalRun

        self.start()
        if job.project.get("training", {}).get("threads", 0) == 0:
            job = JobType(job.project, job.run_dir, job.resume,
                          {"training.threads": self.threads, **job.overrides})
        self.hop.post(self._set_state, "lent")
        return LocalRun(job, self._warm)

    def shutdown(self) -> None:
        if self._warm is not None:
            self._warm.close()
        self.hop.drain()
        self._set_state("closed")

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _on_warm_ready(self, pid: int, torch_version: str, gpus: tuple[str, ...]) -> None:
        if self._state != "closed":
            self.torch_version = torch_version
            if gpus != self.gpus:
                self.gpus = gpus
                self.gpus_found.emit(list(gpus))
            self._set_state("ready")
            self.ready.emit(pid)

    def _on_warm_died(self, message: str) -> None:
        if self._state != "closed":
            self._set_state("starting")
            self.died.emit(message)

    def _on_warm_starting(self) -> None:
        if self._state != "closed":
            self._set_state("starting")
