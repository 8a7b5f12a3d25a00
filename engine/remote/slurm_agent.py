"""The training job inside a Slurm batch job: the agent of :mod:`engine.remote.agent` made
safe for preemption, time limits and requeues.

The batch script (see :mod:`engine.remote.slurm_script`) runs, on the job's first node::

    python -m engine.remote.slurm_agent prepare RUN_DIR     # once per attempt, before srun
    srun ... [torchrun ...] python -m engine.remote.slurm_agent RUN_DIR

``prepare`` makes every attempt of a requeued job continue the one before: when the run
folder holds ``checkpoints/last.safetensors`` the job resumes from it (the engine's exact
resume), and the control and exit files of the attempt before are cleared (an old stop
line would end the new attempt at once).

An attempt ends early when Slurm asks: SIGTERM (``scancel``, ``scontrol requeue``,
preemption; the processes then have KillWait seconds) or SIGUSR1 (``--signal`` before the
time limit), either sent to this process or passed on by the batch script as a
``{"cmd": "requeue"}`` control line. Rank 0 then stops the loop at the next step boundary
(every rank stops at the same step: the decision is broadcast), which writes the
checkpoint; the run's terminal ``stopped`` event is written as a ``warning`` of kind
``requeue`` instead, so a follower keeps following into the requeued attempt, and
``exit.json`` says ``"preempted": true`` (the batch script requeues the job itself after a
time-limit signal).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from engine.remote.agent import CONTROL, EXIT, JOB, PID, run_job

#: the kind of the Warning event that stands for "checkpointed; the job is requeued"
REQUEUE = "requeue"


def _write_json(path: Path, data: dict) -> None:
    from engine.project import atomic_write_text

    atomic_write_text(path, json.dumps(data) + "\n")


def prepare(run_path: Path) -> int:
    """Ready the run folder for this attempt of the batch job (see the module's doc)."""
    try:
        job = json.loads((run_path / JOB).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"layerforge: cannot read {run_path / JOB}: {e}", file=sys.stderr, flush=True)
        return 2
    for name in (CONTROL, EXIT):
        (run_path / name).unlink(missing_ok=True)
    attempt = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0) + 1
    has_checkpoint = (run_path / "checkpoints" / "last.safetensors").is_file()
    if has_checkpoint and not job.get("resume"):
        job["resume"] = True
        _write_json(run_path / JOB, job)
    what = "resuming from its last checkpoint" if job.get("resume") else "starting"
    print(f"layerforge: Slurm job {os.environ.get('SLURM_JOB_ID', '?')}, attempt {attempt}, "
          f"on {os.environ.get('SLURM_JOB_NODELIST', '?')}: {what}", flush=True)
    return 0


class Steer:
    """Between the run's controls and Slurm's signals: ``handle("requeue")`` (a signal or
    the batch script's control line) stops the loop and marks the stop as a preemption;
    the other commands pass on to the loop's Control."""

    def __init__(self) -> None:
        self.preempted = threading.Event()
        self.control = None

    def attach(self, control) -> None:
        self.control = control
        if self.preempted.is_set():  # the signal came before the loop was built
            control.stop()

    def requeue_warning(self, stopped):
        """What a preemption's ``stopped`` event is recorded as: the run goes on."""
        from engine.train.events import Warning as WarningEvent

        return WarningEvent(kind=REQUEUE, message=(
            f"Slurm ended this attempt of the job (time limit, preemption, requeue or "
            f"scancel): checkpoint written at epoch {stopped.epoch}, step {stopped.step}. A "
            "requeued job resumes from it exactly."))

    def handle(self, cmd: str) -> bool:
        if cmd == REQUEUE:
            self.preempted.set()
            cmd = "stop"
        return self.control.handle(cmd) if self.control is not None else cmd == "stop"


def _on_signals(steer: Steer, rank: int) -> None:
    """SIGTERM and SIGUSR1 stop rank 0's loop at the next step (in a helper thread: the
    handler runs between two bytecodes of the loop's thread); other ranks ignore them and
    stop when rank 0's decision reaches them."""
    if rank != 0:
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_IGN)
        return

    def handler(signum, _frame) -> None:
        print(f"layerforge: got {signal.Signals(signum).name}: checkpointing and ending this "
              "attempt", file=sys.stderr, flush=True)
        threading.Thread(target=steer.handle, args=(REQUEUE,), daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGUSR1):
        signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """``prepare RUN_DIR`` or ``RUN_DIR`` (one rank's training); 0 unless training failed."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "prepare":
        return prepare(Path(argv[1]))
    if len(argv) != 1:
        print("usage: python -m engine.remote.slurm_agent [prepare] RUN_DIR", file=sys.stderr)
        return 2
    rank = int(os.environ.get("RANK", "0"))
    steer = Steer()
    _on_signals(steer, rank)  # before the process group: a signal may come at any time
    from engine.train.distributed import init_from_env
    from engine.train.rundir import RunDir

    ddp = init_from_env()
    run = RunDir(Path(argv[0]))
    if rank != 0:
        return run_job(run, rank, ddp, steer=steer, what="Slurm")
    from engine.train.runlock import RunBusy, RunLockError

    try:
        with run.lock("layerforge Slurm job"):
            _write_json(run.path / PID, {"pid": os.getpid(), "started": time.time(),
                                         "job": os.environ.get("SLURM_JOB_ID", "")})
            return run_job(run, rank, ddp, steer=steer, what="Slurm")
    except (RunBusy, RunLockError) as e:
        print(f"layerforge: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
