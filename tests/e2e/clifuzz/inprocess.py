"""The training worker run in this process, and the global state its runs leave behind.

``InProcessWorkerClient`` replaces ``engine.train.worker_client.WorkerClient`` for the fuzz:
it runs the real worker (``engine.train.worker.main``) on a pipe instead of starting a
process (seconds each), and asks it to stop after its first progress event, so every run
is bounded whatever the fuzzed settings say. A handful of cases in test_cli_fuzz.py still
go through the real worker process.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class _Lines:
    """The worker's stdout: collects its JSON lines; on the first progress event writes a
    stop control message to the worker's stdin."""

    def __init__(self, control_fd: int) -> None:
        self.control_fd = control_fd
        self.lines: list[str] = []
        self._buf = ""
        self._stopped = False

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.lines.append(line)
            if not self._stopped and json.loads(line).get("type") == "progress":
                self._stopped = True
                os.write(self.control_fd, b'{"cmd": "stop"}\n')
        return len(text)

    def flush(self) -> None:
        pass


class InProcessWorkerClient:
    """The WorkerClient interface (submit, events, stop, context manager) over the real
    worker code in this process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.job = ""
        self.pid = os.getpid()

    def __enter__(self) -> InProcessWorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def start(self) -> None:
        pass

    def submit(self, project: Any, run_dir: str | Path, *, resume: bool = False,
               overrides: dict[str, Any] | None = None) -> None:
        from engine.project import Project

        data = project.model_dump(mode="json") if isinstance(project, Project) else project
        self.job = json.dumps({"project": data, "run_dir": str(run_dir), "resume": resume,
                               "overrides": overrides or {}})

    def stop(self) -> None:
        pass  # the run is already asked to stop after its first step

    def events(self) -> Iterator[Any]:
        from engine.train.events import Ready, from_json
        from engine.train.worker import main

        read_fd, write_fd = os.pipe()
        os.write(write_fd, (self.job + "\n").encode())
        stdin = os.fdopen(read_fd, "r", encoding="utf-8")
        out = _Lines(write_fd)
        try:
            main(stdin=stdin, stdout=out)  # type: ignore[arg-type]
        finally:
            os.close(write_fd)  # the worker's control thread sees the end and finishes
        for line in out.lines:
            ev = from_json(line)
            if not isinstance(ev, Ready):
                yield ev


@contextlib.contextmanager
def preserved_state(cwd: Path | None = None) -> Iterator[None]:
    """Run a case in ``cwd`` and put back what a run changes for the whole process: the
    working folder, torch's thread count, determinism flag and RNGs, the RNGs of numpy and
    random, and sys.path (an import case adds its folder)."""
    import numpy as np
    import torch

    old_cwd = os.getcwd()
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    rng = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    path = list(sys.path)
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill
        torch.set_rng_state(rng[0])
        np.random.set_state(rng[1])
        random.setstate(rng[2])
        sys.path[:] = path
