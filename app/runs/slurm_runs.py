"""What the app knows about a run on a Slurm cluster, from its run folder's ``remote.json``
and the runs index (``runs.json``, where the engine keeps the job's id, status and the
scheduler's last reason): whether a run is a Slurm job, the Runs list's status for it
(``queued`` with the reason while it waits; a failure's scheduler reason), and what Stop
does to it.

The engine's :class:`~engine.remote.session.RemoteSession` does the work (sbatch, squeue,
scancel); this module only reads what it recorded. No Qt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from app.runs.slurm_text import ended_text, queued_text
from engine.errors import UserError
from engine.remote.config import RUNS_FILE, RunRecord, config_dir, load_hosts, load_runs

if TYPE_CHECKING:
    from app.runs.history import RunSummary

META = "remote.json"


def slurm_record(run_dir: str | Path) -> RunRecord | None:
    """The record of the Slurm job whose local folder is ``run_dir`` (remote.json, updated
    from the runs index), or None for a local run or a run on an SSH host. A run is a
    Slurm job when it has a job id, or when its host is a Slurm cluster."""
    meta = Path(run_dir) / META
    try:
        rec = RunRecord.model_validate(json.loads(meta.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    try:
        for r in load_runs():
            if r.id == rec.id:
                rec = r
                break
    except UserError:  # an unreadable index: remote.json alone still names the run
        pass
    if rec.job_id:
        return rec
    try:
        host = load_hosts().get(rec.host)
    except UserError:
        return None
    return rec if host is not None and host.kind == "slurm" else None


def index_stamp() -> tuple[int, int] | None:
    """When the runs index last changed (a Slurm job's status lives there), or None."""
    try:
        st = (config_dir() / RUNS_FILE).stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def add_slurm_status(path: Path, s: RunSummary) -> None:
    """Complete the Runs list's row ``s`` of a remote run with its Slurm job's state: a job
    waiting in the queue (before it started, or requeued after a preemption or its time
    limit) is ``queued`` with the reason; a failed one names the scheduler's reason."""
    if not s.host:
        return
    rec = slurm_record(path)
    if rec is None:
        return
    job = f"Slurm job {rec.job_id}" if rec.job_id else "Slurm job"
    if rec.status == "queued" and s.status in ("unknown", "detached"):
        s.status = "queued"
        s.message = f"{job} on {rec.host}: {queued_text(rec.reason)}; Attach follows it"
    elif s.status == "failed" and rec.reason and rec.reason not in s.message:
        s.message = f"{s.message} {ended_text(rec.reason)}".strip()


def stop_text(run_dir: str | Path) -> str | None:
    """What Stop does to the run in ``run_dir`` when it is a Slurm job (None otherwise):
    the engine cancels a job still in the queue (scancel); a running one is stopped like
    an SSH run, with a checkpoint."""
    rec = slurm_record(run_dir)
    if rec is None:
        return None
    job = f"Slurm job {rec.job_id}" if rec.job_id else "Slurm job"
    if rec.status == "queued":
        return f"Cancelling the {job} on {rec.host} (scancel): it has not started yet."
    return (f"Stopping the {job} on {rec.host}: the run saves a checkpoint and the job ends "
            "(Resume continues it).")
