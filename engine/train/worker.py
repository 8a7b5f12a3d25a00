"""The worker process: one training run driven over JSON lines.

Protocol (stdin/stdout, UTF-8, one JSON object per line):

1. On start the worker imports torch and writes a ``ready`` event (seq 0). A warm worker
   waits here for its job.
2. The parent writes the job: ``{"project": {...}, "run_dir": "...", "resume": false,
   "overrides": {"training.lr": 0.01}}``.
3. The worker writes every event (``seq`` contiguous, continuing the run's events.jsonl,
   where each is also appended) until a terminal one: finished, stopped or failed. While
   another process writes the run folder (it holds its lock, see engine.train.runlock)
   the only event is a failed one naming that process, and the folder is left untouched.
4. Meanwhile the parent may write ``{"cmd": "stop" | "pause" | "resume"}`` lines.

Exit status: 0 after finished or stopped, 1 after failed, 2 for a malformed job.
Nothing else is written to stdout: stray prints go to stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import IO, Any

from engine.errors import os_reason


def _read_controls(stdin: IO[str], control: Any, out_lock: threading.Lock) -> None:
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line).get("cmd", "")
        except (json.JSONDecodeError, AttributeError):
            cmd = ""
        if not control.handle(cmd):
            print(f"worker: ignored control message {line[:200]!r}", file=sys.stderr, flush=True)
    control.stop()  # the parent went away: stop cleanly, keeping a checkpoint


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

    from engine.project import Project, ProjectError
    from engine.train.control import Control
    from engine.train.events import Failed, Ready
    from engine.train.loop import train
    from engine.train.overrides import apply_overrides
    from engine.train.rundir import RunDir, record

    gpus = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) \
        if torch.cuda.is_available() else ()
    proto.write(Ready(pid=os.getpid(), torch_version=torch.__version__, gpus=gpus).to_json()
                + "\n")
    proto.flush()
    line = stdin.readline()
    if not line.strip():
        return 0  # closed before a job: a warm worker that was not needed
    try:
        job = json.loads(line)
        project = Project.model_validate(job["project"])
        project = apply_overrides(project, job.get("overrides") or {})
        run = RunDir(job["run_dir"])
        resume = bool(job.get("resume", False))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, ProjectError) as e:
        msg = f"The worker got a malformed job: {type(e).__name__}: {str(e)[:500]}"
        proto.write(Failed(message=msg).to_json() + "\n")
        proto.flush()
        return 2
    control = Control()
    threading.Thread(target=_read_controls, args=(stdin, control, threading.Lock()),
                     daemon=True, name="worker-control").start()
    status = 1
    try:
        for ev in record(train(project, run.path, resume=resume, control=control), run, out=proto):
            if ev.type in ("finished", "stopped"):
                status = 0
    except (ProjectError, OSError) as e:  # the run folder cannot be written
        msg = str(e) if isinstance(e, ProjectError) else f"{run.path}: cannot write the run folder ({os_reason(e)})"
        proto.write(Failed(message=msg).to_json() + "\n")
        proto.flush()
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
