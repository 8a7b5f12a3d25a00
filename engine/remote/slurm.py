"""Training on a Slurm cluster: a host of kind ``slurm`` is the cluster's login node.

The run is staged exactly as for an SSH host (engine, dataset and starting weights
uploaded under the host's base_dir, which the compute nodes share), then submitted as one
batch job (:mod:`engine.remote.slurm_script`) instead of being started on the login node.
From there it is a detached remote run like any other: :func:`engine.remote.runs.follow`
tails ``events.jsonl`` and asks the scheduler (through :class:`JobWatch`) instead of
``kill -0`` whether the job lives, reporting a waiting job as ``Status("queued", ...)``
with the scheduler's reason; attach, download and evaluate are unchanged.

A preempted, requeued or time-limited job checkpoints and comes back on its own (see
:mod:`engine.remote.slurm_agent`): its events go on in the same file, after a ``warning``
of kind ``requeue``. A job that ends without a terminal event (the batch script failed, a
node failed, ``scancel`` from outside) gets one here: :func:`ended_event`, with Slurm's
reason and the tail of the job's output file.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

from engine.project import Project, atomic_write_text
from engine.remote.agent import CONTROL, EXIT, LOG
from engine.remote.bundle import dataset_upload, local_dataset_meta, relocate
from engine.remote.config import RemoteError, RunRecord, now_stamp, record_run
from engine.remote.slurm_jobs import JobState, cancel, job_state
from engine.remote.slurm_script import batch_script
from engine.remote.ssh import BytesProgress, RemoteHost
from engine.train.events import CheckpointWritten, Event, Failed, Status, Stopped, read_events

SCRIPT = "slurm.sh"
#: written by :func:`stop_job` before it cancels a job that has not started: the job's
#: end then reads as the user's stop, not as a failure
CANCELLED = "cancelled.json"
#: a job seen ended is believed over after this long even without exit.json (a shared
#: file system may show the job's last writes on the login node a little later)
ENDED_GRACE_S = 6.0


def _say(say, text: str) -> None:
    if say is not None:
        say(text)


def job_shape(host: RemoteHost, project: Project, *, nodes: int | None,
              gpus: int | None) -> tuple[int, int, bool]:
    """(nodes, processes per node, GPU job) of a run: the arguments, else the host's
    entry. A GPU job asks for one GPU per process; a CPU job (the host has no GPUs per
    node, or the project trains on the CPU) runs ``gpus`` CPU processes per node (gloo)."""
    cfg = host.cfg
    nodes = nodes or cfg.nodes
    gpu = cfg.gpus_per_node > 0 and project.training.device != "cpu"
    procs = gpus or (cfg.gpus_per_node if gpu else 1) or 1
    if nodes < 1 or procs < 1:
        raise RemoteError("a Slurm job needs at least one node and one process per node")
    if gpu and procs > cfg.gpus_per_node:
        raise RemoteError(f"{cfg.name} gives {cfg.gpus_per_node} GPU(s) per node but {procs} "
                          "were asked for; lower --gpus or raise the host's GPUs per node")
    return nodes, procs, gpu


def submit(host: RemoteHost, project: Project, local_dir: str | Path, *,
           nodes: int | None = None, gpus: int | None = None, say=None,
           progress: BytesProgress | None = None) -> RunRecord:
    """Stage the run on the cluster as for an SSH host and submit its batch job; the local
    folder gets ``remote.json`` and the runs index the record (status ``queued``, the job's
    id). ``nodes``/``gpus`` (GPUs, or CPU processes, per node) default to the host's."""
    from engine.remote.init_upload import push_init
    from engine.remote.runs import host_project, push_dataset, push_engine, stage_job

    nodes, procs, gpu = job_shape(host, project, nodes=nodes, gpus=gpus)
    upload = dataset_upload(project.dataset)  # a bad dataset is refused before connecting
    info = host.probe()
    problem = info.problem(host.cfg.python)
    if problem:
        raise RemoteError(problem)
    engine_dir = push_engine(host, info)
    _say(say, f"engine on {host.cfg.name}: {engine_dir}")
    project = host_project(project)
    local_data = {"path": project.dataset.path}
    remote_data = push_dataset(host, info, project, progress, upload)
    if remote_data and upload is not None:
        local_data = relocate(project.dataset, upload, remote_data)
        _say(say, f"dataset on {host.cfg.name}: {remote_data}")
    remote_init = push_init(host, info, project, progress)
    if remote_init:
        _say(say, f"starting weights on {host.cfg.name}: {remote_init}")
    run_id, remote_dir = stage_job(host, info, project, local_dir)
    job_id = _sbatch(host, remote_dir, engine_dir, run_id, nodes, procs, gpu)
    _say(say, f"submitted Slurm job {job_id} on {host.cfg.name} ({_shape_words(nodes, procs, gpu)})")
    local = Path(local_dir).absolute()
    local.mkdir(parents=True, exist_ok=True)
    rec = RunRecord(id=run_id, host=host.cfg.name, local_dir=str(local), remote_dir=remote_dir,
                    project=project.name, started=now_stamp(), status="queued", gpus=procs,
                    job_id=job_id, nodes=nodes)
    atomic_write_text(local / "remote.json", json.dumps(
        rec.model_dump(mode="json") | local_dataset_meta(local_data), indent=2) + "\n")
    record_run(rec)
    return rec


def _shape_words(nodes: int, procs: int, gpu: bool) -> str:
    each = f"{procs} GPU{'s' if procs != 1 else ''}" if gpu else \
        f"{procs} CPU process{'es' if procs != 1 else ''}"
    return f"{nodes} node{'s' if nodes != 1 else ''}, {each} each"


def _sbatch(host: RemoteHost, remote_dir: str, engine_dir: str, run_id: str, nodes: int,
            procs: int, gpu: bool) -> str:
    """Write the batch script into the run folder and submit it; the job's id."""
    script = batch_script(host.cfg, run_dir=remote_dir, engine_dir=engine_dir,
                          job_name=f"lf-{run_id}"[:64], nodes=nodes, procs=procs, gpu=gpu)
    path = f"{remote_dir}/{SCRIPT}"
    host.write_bytes(path, script.encode())
    code, out, err = host.run(f"sbatch --parsable {shlex.quote(path)}", timeout=120)
    if code == 127:
        raise RemoteError(f"{host.cfg.name}: sbatch is not found on the login node; is it a "
                          "Slurm cluster? (set the host's kind to ssh otherwise)")
    job_id = out.strip().split(";")[0].strip() if code == 0 else ""
    if not job_id.isdigit():
        why = (err.strip() or out.strip())[-400:].replace("sbatch: error: ", "")
        raise RemoteError(f"{host.cfg.name}: Slurm refused the job: {why}")
    return job_id


def resubmit(host: RemoteHost, rec: RunRecord, *, gpus: int | None = None,
             nodes: int | None = None, overrides: dict | None = None, say=None) -> RunRecord:
    """Continue a stopped or failed Slurm run from its last checkpoint as a new batch job
    (the engine is uploaded again if it changed). Returns the updated record."""
    from engine.project import Project
    from engine.remote.runs import resume_job, save_record, upload_resume

    info, job = resume_job(host, rec, lambda: bool(rec.job_id)
                           and job_state(host, rec.job_id).alive,
                           f"queued or running as Slurm job {rec.job_id}", overrides)
    project = Project.model_validate(job["project"])
    nodes, procs, gpu = job_shape(host, project, nodes=nodes or rec.nodes or None,
                                  gpus=gpus or rec.gpus or None)
    engine_dir = upload_resume(host, info, rec, job, (CONTROL, EXIT, CANCELLED), say)
    job_id = _sbatch(host, rec.remote_dir, engine_dir, rec.id, nodes, procs, gpu)
    _say(say, f"submitted Slurm job {job_id} on {host.cfg.name}")
    return save_record(rec, status="queued", job_id=job_id, gpus=procs, nodes=nodes, reason="")


def cancel_if_queued(host: RemoteHost, rec: RunRecord) -> bool:
    """The Slurm part of stopping a run: a job still in the queue is cancelled (and its end
    then reads as the user's stop); whether it was. A running job is stopped by the stop
    control line like an SSH run (it checkpoints and ends as a stopped run)."""
    if not job_state(host, rec.job_id).queued:
        return False
    host.write_bytes(f"{rec.remote_dir}/{CANCELLED}",
                     json.dumps({"by": "layerforge", "at": time.time()}).encode())
    cancel(host, rec.job_id)
    return True


class JobWatch:
    """What :func:`engine.remote.runs.follow` asks the scheduler between reads of a Slurm
    run: whether the job is still alive and, when that changed, a session event
    (``Status("queued", reason)`` while it waits, ``Status("running", nodes)`` when it
    starts). Keeps the runs index's status and reason up to date."""

    def __init__(self, host: RemoteHost, rec: RunRecord) -> None:
        self.host, self.rec = host, rec
        self._shown: tuple[str, str] | None = None
        self._ended_at: float | None = None
        self.last = JobState()

    def check(self) -> tuple[bool, Status | None]:
        js = self.last = job_state(self.host, self.rec.job_id)
        news = None
        if js.queued:
            shown = ("queued", js.reason)
            if shown != self._shown:
                again = "requeued" if js.restarts else "queued"
                news = Status(state="queued", text=f"Slurm job {self.rec.job_id} is {again} on "
                              f"{self.rec.host}: {js.waiting_words()}.")
                self._update(status="queued", reason=js.reason)
        elif js.state == "RUNNING":
            shown = ("running", "")
            if shown != self._shown:
                news = Status(state="running", text=f"Slurm job {self.rec.job_id} runs on "
                              f"{js.nodes or self.rec.host}.")
                self._update(status="running", reason="")
        else:
            shown = self._shown or ("", "")
        self._shown = shown
        if js.alive:
            self._ended_at = None
            return True, news
        self._ended_at = self._ended_at or time.monotonic()
        ended = (time.monotonic() - self._ended_at >= ENDED_GRACE_S
                 or self.host.exists(f"{self.rec.remote_dir}/{EXIT}"))
        if ended and js.state and js.state != "COMPLETED":
            self._update(reason=js.reason or js.state)
        return not ended, news

    def saw_events(self) -> Status | None:
        """The job wrote events: a queued job runs now (the news, once)."""
        if self._shown is not None and self._shown[0] == "running":
            return None
        was_queued = (self._shown or (self.rec.status, ""))[0] == "queued"
        self._shown = ("running", "")
        if not was_queued:
            return None
        self._update(status="running", reason="")
        return Status(state="running", text=f"Slurm job {self.rec.job_id} runs on {self.rec.host}.")

    def _update(self, **changes) -> None:
        self.rec = self.rec.model_copy(update=changes)
        record_run(self.rec)


def ended_event(host: RemoteHost, rec: RunRecord, seq: int, state: JobState | None = None) -> Event:
    """The terminal event of a Slurm run whose job ended without one: ``stopped`` when the
    user cancelled it before it started (:func:`stop_job`), else ``failed`` with Slurm's
    reason, the last line of the job's output file, and whether a checkpoint is kept."""
    state = state or job_state(host, rec.job_id)
    log = host.read_from(f"{rec.remote_dir}/{LOG}", 0, 1 << 22).decode("utf-8", "replace")
    log = log[-4000:]
    if host.exists(f"{rec.remote_dir}/{CANCELLED}"):
        last = _last_checkpoint(rec)
        return Stopped(seq=seq + 1, epoch=last.epoch if last else 0,
                       step=last.step if last else 0, checkpoint=last.path if last else "")
    lines = [ln for ln in log.strip().splitlines() if ln.strip()]
    tail = lines[-1].strip()[:300] if lines else ""
    kept = host.exists(f"{rec.remote_dir}/checkpoints/last.safetensors")
    message = (f"Training failed: Slurm job {rec.job_id} on {rec.host} ended without "
               f"finishing the training: {state.ended_words()}."
               + (f" Last line of its output: {tail}" if tail else "")
               + (" Its last checkpoint is kept: resume the run to continue from it."
                  if kept else ""))
    return Failed(seq=seq + 1, message=message, detail=log)


def _last_checkpoint(rec: RunRecord) -> CheckpointWritten | None:
    found = None
    for ev in read_events(Path(rec.local_dir) / "events.jsonl"):
        if isinstance(ev, CheckpointWritten):
            found = ev
    return found
