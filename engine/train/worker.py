"""The worker process: training runs driven over JSON lines.

Protocol (stdin/stdout, UTF-8, one JSON object per line):

1. On start the worker imports torch and writes a ``ready`` event (seq 0). A warm worker
   waits here for its job.
2. The parent writes a job: ``{"project": {...}, "run_dir": "...", "resume": false,
   "overrides": {"training.lr": 0.01}, "reuse": false}``.
3. The worker writes every event (``seq`` contiguous, continuing the run's events.jsonl,
   where each is also appended) until a terminal one: finished, stopped or failed. While
   another process writes the run folder (it holds its lock, see engine.train.runlock)
   the only event is a failed one naming that process, and the folder is left untouched.
4. Meanwhile the parent may write ``{"cmd": "stop" | "pause" | "resume"}`` lines. They go
   to the job of the last job line read before them: one that arrives after its job ended
   (a stop racing the job's end) does nothing, and never reaches the next job.
5. After the terminal event the worker exits, unless the job said ``"reuse": true``: then
   it waits for the next job line (back to 3; a sweep's lane runs its trials this way, so
   only the first pays for importing torch). End of input ends it; a job in progress then
   stops first, keeping a checkpoint (the parent went away).

A malformed job (not JSON, no project, an invalid project) is answered by one failed
event; the worker goes on to the next job only when the line asked for reuse.
Exit status, of the last job: 0 after finished or stopped (or no job at all), 1 after
failed, 2 for a malformed job. Nothing else is written to stdout: stray prints go to stderr.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import signal
import sys
import threading
from typing import IO, Any

from engine.errors import os_reason


class _Inbox:
    """The worker's stdin, read by one thread (``readline``, so a test's stdin wrapper sees
    every line): control lines go to the current job's Control; each job line gets a fresh
    Control and is queued for the main loop. End of input stops the job in progress and
    queues ``None``."""

    def __init__(self, stdin: IO[str]) -> None:
        from engine.train.control import Control

        self._stdin = stdin
        self._new_control = Control
        self.jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._control: Any = None  # the Control of the last job line read

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True, name="worker-stdin").start()

    def _read(self) -> None:
        while True:
            try:
                line = self._stdin.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            cmd = _command(text)
            if cmd is None:  # a job line (or garbage, answered as a malformed job)
                self._control = self._new_control()
                self.jobs.put((text, self._control))
            elif self._control is None or not self._control.handle(cmd):
                print(f"worker: ignored control message {text[:200]!r}", file=sys.stderr,
                      flush=True)
        if self._control is not None:
            self._control.stop()  # the parent went away: stop cleanly, keeping a checkpoint
        self.jobs.put(None)


def _command(text: str) -> str | None:
    """The command of a control line; None for any other line."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict) and "cmd" in data:
        return str(data["cmd"])
    return None


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Run the worker protocol on ``stdin``/``stdout`` (the process's own by default)."""
    stdin = stdin or sys.stdin
    proto = stdout or sys.stdout
    if stdout is None:
        sys.stdout = sys.stderr  # keep the protocol channel clean of stray prints
        # Ctrl-C in a terminal reaches the whole process group; the parent turns it into a
        # stop message, so the worker must not die of it mid-step.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    # The run's setup calls torch.use_deterministic_algorithms, which imports this module
    # (about 3 s the first time): do it before saying ready, so a warm worker starts at once.
    import torch._inductor.config  # noqa: F401

    from engine.train.events import Ready

    gpus = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) \
        if torch.cuda.is_available() else ()
    proto.write(Ready(pid=os.getpid(), torch_version=torch.__version__, gpus=gpus).to_json()
                + "\n")
    proto.flush()
    inbox = _Inbox(stdin)
    inbox.start()
    fresh = _ProcessState()
    status = 0
    while (item := inbox.jobs.get()) is not None:
        line, control = item
        fresh.restore()  # each job starts as in a new process
        status, reuse = _run_job(line, control, proto)
        if not reuse:
            break
        gc.collect()  # the last job's model and data, before the next one allocates
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return status


class _ProcessState:
    """What a run changes for the whole process (threads, the determinism switches), as the
    worker started, to put back before each job: a job on a reused worker then trains
    exactly as in a new process (its RNGs are seeded by the run itself)."""

    def __init__(self) -> None:
        import torch

        self.threads = torch.get_num_threads()
        self.deterministic = torch.are_deterministic_algorithms_enabled()
        self.warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        self.fill = torch.utils.deterministic.fill_uninitialized_memory

    def restore(self) -> None:
        import torch

        torch.set_num_threads(self.threads)
        torch.use_deterministic_algorithms(self.deterministic, warn_only=self.warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = self.fill


def _run_job(line: str, control: Any, proto: IO[str]) -> tuple[int, bool]:
    """Run one job line to its terminal event: (exit status, whether to wait for another)."""
    from engine.project import Project, ProjectError
    from engine.train.events import Failed
    from engine.train.loop import train
    from engine.train.overrides import apply_overrides
    from engine.train.rundir import RunDir, record

    reuse = False
    try:
        job = json.loads(line)
        reuse = isinstance(job, dict) and job.get("reuse") is True
        project = Project.model_validate(job["project"])
        project = apply_overrides(project, job.get("overrides") or {})
        run = RunDir(job["run_dir"])
        resume = bool(job.get("resume", False))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, ProjectError) as e:
        msg = f"The worker got a malformed job: {type(e).__name__}: {str(e)[:500]}"
        proto.write(Failed(message=msg).to_json() + "\n")
        proto.flush()
        return 2, reuse
    status = 1
    from engine.train.usage import job_price
    from engine.train.usage_meter import follow

    run_events = train(project, run.path, resume=resume, control=control)
    # usage.json: what the run cost (engine.train.usage); the price comes with the job
    run_events = follow(run_events, run.path, job_price(job, remote=False), resume=resume)
    events = record(run_events, run, out=proto)
    try:
        with contextlib.closing(events):  # the run folder's lock is let go before the next job
            for ev in events:
                if ev.type in ("finished", "stopped"):
                    status = 0
    except (ProjectError, OSError) as e:  # the run folder cannot be written
        msg = str(e) if isinstance(e, ProjectError) else f"{run.path}: cannot write the run folder ({os_reason(e)})"
        proto.write(Failed(message=msg).to_json() + "\n")
        proto.flush()
    return status, reuse


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
