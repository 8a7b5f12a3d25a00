"""Runs on the remote host: one detached training job in a run folder.

``python -m engine.remote.agent RUN_DIR`` (or under ``torchrun ... -m engine.remote.agent``)
is started with setsid/nohup and no terminal, so it outlives the SSH connection. Files in
RUN_DIR (the client reads and writes them over SFTP):

- ``job.json``       the job: ``{"project": {...}, "resume": false, "overrides": {}}``
- ``events.jsonl``   every event, ``seq`` contiguous (the same lines a local worker prints)
- ``control.jsonl``  appended ``{"cmd": "stop" | "pause" | "resume"}`` lines, polled here
- ``agent.pid``      the agent's pid (rank 0); ``exit.json`` its status when it ends
- ``.lock``          rank 0 holds the run folder's writer lock (engine.train.runlock) for
                     the whole job: a second agent started on the same folder is refused
                     before it writes anything
- ``agent.log``      stdout/stderr of the launcher (the client shows its tail on a crash)

With several processes (torchrun, WORLD_SIZE > 1) every rank trains (DDP); rank 0 alone
writes the run folder; the other ranks write into ``RUN_DIR/.rank<N>`` scratch folders.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

JOB = "job.json"
CONTROL = "control.jsonl"
PID = "agent.pid"
EXIT = "exit.json"
LOG = "agent.log"
POLL_S = 0.2


def poll_controls(path: Path, control, done: threading.Event) -> None:
    """Apply control lines appended to ``path`` until ``done`` is set."""
    offset, buf = 0, b""
    while not done.wait(POLL_S):
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            continue
        offset += len(data)
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            try:
                cmd = json.loads(line).get("cmd", "")
            except (ValueError, AttributeError):
                cmd = ""
            if line.strip() and not control.handle(cmd):
                print(f"agent: ignored control line {line[:200]!r}", file=sys.stderr, flush=True)


def _write_json(path: Path, data: dict) -> None:
    from engine.project import atomic_write_text

    atomic_write_text(path, json.dumps(data) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the job in ``argv[0]`` (a run folder); 0 finished/stopped, 1 failed."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m engine.remote.agent RUN_DIR", file=sys.stderr)
        return 2
    run_path = Path(argv[0])
    from engine.train.distributed import init_from_env
    from engine.train.rundir import RunDir

    ddp = init_from_env()
    rank = ddp.rank if ddp else 0
    run = RunDir(run_path)
    if rank != 0:
        return run_job(run, rank, ddp)
    from engine.train.runlock import RunBusy, RunLockError

    try:  # one writer per run folder: a second agent touches nothing, not even agent.pid
        with run.lock("layerforge remote run"):
            _write_json(run_path / PID, {"pid": os.getpid(), "started": time.time()})
            return run_job(run, rank, ddp)
    except (RunBusy, RunLockError) as e:
        print(f"agent: {e}", file=sys.stderr, flush=True)
        return 1


def run_job(run, rank: int, ddp, *, steer=None, what: str = "remote") -> int:
    """The job of one rank (rank 0 holds the run folder's lock, records the events with
    the usage meter and writes exit.json). ``steer``: a Slurm attempt's go-between (see
    :class:`engine.remote.slurm_agent.Steer`) that takes the control lines and marks a
    stop as a preemption, whose ``stopped`` it records as a requeue warning instead."""
    import torch

    from engine.project import Project
    from engine.train.control import Control
    from engine.train.distributed import SyncedControl
    from engine.train.events import Failed, Stopped
    from engine.train.loop import train
    from engine.train.overrides import apply_overrides
    from engine.train.rundir import record

    run_path = run.path
    try:
        job = json.loads((run_path / JOB).read_text(encoding="utf-8"))
        project = apply_overrides(Project.model_validate(job["project"]), job.get("overrides") or {})
        resume = bool(job.get("resume", False))
    except (OSError, ValueError, KeyError, TypeError) as e:
        if rank == 0:
            msg = f"The {what} job is malformed: {type(e).__name__}: {str(e)[:500]}"
            list(record([Failed(message=msg)], run))
            _write_json(run_path / EXIT, {"status": 2})
        return 2
    if ddp is None:
        control: Control = Control()
    else:
        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() \
            and project.training.device != "cpu" else torch.device("cpu")
        control = SyncedControl(rank, device)
    if steer is not None:
        steer.attach(control)
    status, done, requeued = 1, threading.Event(), [False]

    def events():
        from engine.train.usage import job_price
        from engine.train.usage_meter import follow

        run_events = train(project, run.path, resume=resume, control=control)
        # usage.json: what the run cost, priced as the client's host entry says
        for ev in follow(run_events, run.path, job_price(job, remote=True), resume=resume):
            if steer is not None and isinstance(ev, Stopped) and steer.preempted.is_set():
                requeued[0] = True
                ev = steer.requeue_warning(ev)
            yield ev

    try:
        if rank == 0:
            threading.Thread(target=poll_controls, args=(run_path / CONTROL, steer or control,
                                                         done),
                             daemon=True, name="agent-control").start()
            for ev in record(events(), run):
                if ev.type in ("finished", "stopped") or requeued[0]:
                    status = 0
        else:
            scratch = run_path / f".rank{rank}"
            if resume and run.checkpoint("last").is_file():
                (scratch / "checkpoints").mkdir(parents=True, exist_ok=True)
                shutil.copy2(run.checkpoint("last"), scratch / "checkpoints" / "last.safetensors")
            for ev in train(project, scratch, resume=resume, control=control):
                if ev.type in ("finished", "stopped"):
                    status = 0
    finally:
        done.set()
        if rank == 0:
            _write_json(run_path / EXIT, {"status": status, **({"preempted": requeued[0]}
                                                               if steer is not None else {})})
        if ddp is not None:
            import torch.distributed as dist

            dist.destroy_process_group()
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
