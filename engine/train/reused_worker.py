"""A worker process that runs one training job after another (worker protocol with
``"reuse": true``, see :mod:`engine.train.worker`): a sweep's local lane trains all its
trials on one process, so only the first waits for torch to import. The app's runs and
``layerforge train`` keep one process per job (:class:`engine.train.source.LocalRun`).
Plain Python, no torch and no Qt."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from engine.train.events import ENDS, Event, Failed, Notice
from engine.train.source import Job, SendsControls
from engine.train.worker_client import WorkerClient, worker_command


class ReusedWorker:
    """One worker process that runs one job after another (a sweep's local lane): only its
    first job waits for torch to import, and no job's process competes with the training
    of another for the CPU while it starts.

    ``start()`` spawns the process ahead of time; ``run(job)`` gives the job's
    :class:`ReusedRun` (one job at a time). A process that died, mid-job (that job fails,
    with the reason, as a :class:`LocalRun` would) or while idle, is replaced by a new one
    started at once, so the next job runs."""

    def __init__(self, env: dict[str, str] | None = None,
                 command: list[str] | None = None) -> None:
        self.env = env
        self.command = command or worker_command()
        self._lock = threading.Lock()
        self._client: WorkerClient | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._client.pid if self._client else None

    def start(self) -> None:
        """Spawn the process unless a live one is there (it imports torch meanwhile)."""
        self._live()

    def run(self, job: Job) -> ReusedRun:
        return ReusedRun(job, self)

    def close(self, timeout: float = 10.0) -> None:
        """End the process: its stdin closes, so a job in progress stops with a checkpoint."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            client.close(timeout=timeout)

    # -- used by ReusedRun -----------------------------------------------------------------
    def _live(self) -> WorkerClient | Failed:
        """The live process (a new one when there is none), or why none could start."""
        with self._lock:
            if self._closed:
                return Failed(message="Training failed: the sweep's worker was closed.")
            old = self._client
            if old is not None and old.alive:
                return old
            client = self._client = WorkerClient(self.command, env=self.env)
        if old is not None:
            old.close(timeout=2.0)
        try:
            client.start()
        except OSError as e:
            with self._lock:
                self._client = None
            return Failed(message=f"Training failed: the training process could not start ({e}).")
        return client

    def _discard(self, client: WorkerClient) -> None:
        """``client``'s process can run no more jobs (it died, or a job was left unfinished
        in it): end it and start the next one now."""
        with self._lock:
            if self._client is client:
                self._client = None
        client.close(timeout=10.0)
        self.start()


class ReusedRun(SendsControls):
    """One job on a :class:`ReusedWorker`'s process. Controls reach the worker only while
    this job runs: a stop that races the job's end never reaches the next job. ``close()``
    stops the job (the process is its ReusedWorker's)."""

    def __init__(self, job: Job, worker: ReusedWorker) -> None:
        self.job = job
        self._worker = worker
        self._lock = threading.Lock()
        self._client: WorkerClient | None = None
        self._done = False
        self._stop_asked = False  # stop() before the job was sent: sent right after it

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._client.pid if self._client else None

    def events(self) -> Iterator[Event]:
        got = self._worker._live()
        if not isinstance(got, Failed):
            got.wait_ready()  # only the first job waits (a dead one is reported below)
        if isinstance(got, Failed):
            yield Notice(message=got.message)
            yield got
            return
        client = got
        job = self.job
        ended = False
        try:
            with self._lock:
                client.submit(job.project, job.run_dir, resume=job.resume,
                              overrides=job.overrides, reuse=True)
                self._client = client
                if self._stop_asked:
                    client.stop()
            for ev in client.events():
                if isinstance(ev, ENDS):
                    with self._lock:  # before the next job can be sent: no control leaks
                        self._done = True
                    ended = True
                    if isinstance(ev, Failed) and not client.alive:
                        yield Notice(message=ev.message)  # it died: not a failure it reported
                yield ev
                if ended:
                    return
        finally:
            with self._lock:
                self._done = True
            if not ended or not client.alive:
                self._worker._discard(client)

    def stop(self) -> None:
        with self._lock:
            self._stop_asked = True
        self._send("stop")

    def close(self) -> None:
        """Stop the job in progress (it keeps a checkpoint)."""
        self.stop()

    def _send(self, cmd: str) -> None:
        with self._lock:
            if self._client is not None and not self._done:
                getattr(self._client, cmd)()
