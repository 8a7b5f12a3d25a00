"""What a Slurm cluster says about a job and its partitions, in words for the user.

The commands run on the login node over SSH: ``scontrol show job -o`` while the controller
still knows the job (``MinJobAge`` after its end), ``sacct`` after that (when the cluster
keeps accounting); ``sinfo`` for the partitions.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from engine.remote.config import RemoteError
from engine.remote.ssh import RemoteHost

#: states of a job that is not over (``COMPLETING``: its processes are being cleaned up,
#: which also happens on the way back into the queue after a requeue)
LIVE = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
                  "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT",
                  "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT"})
#: states of a job that waits for its nodes
QUEUED = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
                    "RESV_DEL_HOLD", "SPECIAL_EXIT"})

#: why a job waits (squeue's REASON), in words
WAITING = {
    "Resources": "waiting for resources (the nodes it needs are busy)",
    "Priority": "waiting for jobs with a higher priority",
    "BeginTime": "waiting for its start time (a requeued job waits a moment)",
    "Dependency": "waiting for another job to end",
    "ReqNodeNotAvail": "the nodes it needs are not available (down, drained or reserved)",
    "PartitionTimeLimit": "its time limit is above the partition's maximum; lower the host's "
                          "time limit",
    "PartitionNodeLimit": "it asks for more nodes than the partition allows; lower the nodes",
    "PartitionDown": "the partition is down",
    "PartitionInactive": "the partition is inactive",
    "JobHeldUser": "held (release it with `scontrol release`)",
    "JobHeldAdmin": "held by an administrator",
    "QOSMaxGRESPerUser": "you already use as many GPUs as your quota allows",
    "AssocGrpGRES": "your account already uses as many GPUs as it may",
    "InvalidAccount": "the account is not valid; fix the host's account",
    "BadConstraints": "no node can give what it asks for",
}
#: why a job ended, when it was not the training's own doing
ENDED = {
    "TIMEOUT": "it reached its time limit",
    "NODE_FAIL": "a node of the job failed",
    "PREEMPTED": "it was preempted and not requeued",
    "OUT_OF_MEMORY": "a node ran out of memory",
    "CANCELLED": "it was cancelled (scancel)",
    "BOOT_FAIL": "its nodes failed to boot",
    "DEADLINE": "it reached its deadline",
}


@dataclass(frozen=True)
class JobState:
    """One look at a job: Slurm's state (``PENDING``, ``RUNNING``, ``COMPLETED``,
    ``FAILED``, ``CANCELLED``, ``TIMEOUT``, ``NODE_FAIL``...; "" when Slurm no longer knows
    the job), the reason (``Resources``, ``Priority``, ``NonZeroExitCode``...; "" for none),
    the batch script's exit code (``1:0`` = status 1, no signal), how often it was
    requeued, and its nodes."""

    state: str = ""
    reason: str = ""
    exit_code: str = ""
    restarts: int = 0
    nodes: str = ""

    @property
    def alive(self) -> bool:
        return self.state in LIVE

    @property
    def queued(self) -> bool:
        return self.state in QUEUED

    def waiting_words(self) -> str:
        """Why it waits, in words (the reason code itself when it is not a known one)."""
        if not self.reason:
            return "waiting for the scheduler to start it"
        return WAITING.get(self.reason, f"waiting ({self.reason})")

    def ended_words(self) -> str:
        """Why it ended, in words: ``the batch script failed (exit status 127)``..."""
        status, _, sig = self.exit_code.partition(":")
        if self.state in ENDED:
            words = ENDED[self.state]
        elif self.state == "FAILED" or (status and status != "0"):
            words = f"the batch script failed (exit status {status or '?'})"
        elif sig and sig != "0":
            words = f"the batch script was killed by signal {sig}"
        elif self.state == "COMPLETED":
            words = "the batch script ended before the training did"
        else:
            words = f"Slurm says {self.state or 'nothing more about it'}"
        return words + (f" (Slurm: {self.reason})" if self.reason else "")


def _fields(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"(?:^|\s)([A-Za-z/:]+)=(\S*)", text)}


def _clean_reason(reason: str) -> str:
    return "" if reason in ("None", "(null)", "") else reason


def job_state(host: RemoteHost, job_id: str) -> JobState:
    """The job's state from ``scontrol`` (or ``sacct`` once the controller forgot it); a
    JobState with state "" when neither knows it."""
    code, out, err = host.run(f"scontrol show job -o {shlex.quote(job_id)}", timeout=60)
    if code == 127:
        raise RemoteError(f"{host.cfg.name}: the Slurm commands (scontrol, sbatch) are not "
                          "found on the login node; is it a Slurm cluster? (set the host's "
                          "kind to ssh otherwise)")
    if code == 0 and "JobState=" in out:
        f = _fields(out.splitlines()[0])
        return JobState(state=f.get("JobState", ""), reason=_clean_reason(f.get("Reason", "")),
                        exit_code=f.get("ExitCode", ""),
                        restarts=int(f.get("Restarts", "0") or 0),
                        nodes=_clean_reason(f.get("NodeList", "")))
    code, out, _ = host.run(f"sacct -j {shlex.quote(job_id)} -X -n -P "
                            "-o State,Reason,ExitCode,NodeList", timeout=60)
    line = out.strip().splitlines()[-1] if code == 0 and out.strip() else ""
    if not line:
        return JobState()
    state, reason, exit_code, nodes = (line.split("|") + ["", "", "", ""])[:4]
    return JobState(state=state.split()[0] if state else "", reason=_clean_reason(reason),
                    exit_code=exit_code, nodes=nodes)


def cancel(host: RemoteHost, job_id: str) -> None:
    """``scancel`` the job (a job that already ended is no error)."""
    code, _, err = host.run(f"scancel {shlex.quote(job_id)}", timeout=60)
    if code != 0 and "already completing or completed" not in err.lower() \
            and "invalid job id" not in err.lower():
        raise RemoteError(f"{host.cfg.name}: scancel {job_id} failed: {err.strip()[-300:]}")


@dataclass(frozen=True)
class Partition:
    """One line of ``sinfo``: a partition the host's jobs may ask for."""

    name: str
    default: bool = False
    available: bool = True
    time_limit: str = ""  # Slurm's format; "infinite" when none
    nodes: int = 0
    cpus_per_node: str = ""
    gpus_per_node: int = 0


def partitions(host: RemoteHost) -> list[Partition]:
    """The cluster's partitions (``sinfo``), the default one first; for a host dialog's
    partition list. A RemoteError when the login node has no Slurm commands."""
    code, out, err = host.run("sinfo -h -o '%P|%a|%l|%D|%c|%G'", timeout=60)
    if code != 0:
        why = "not found" if code == 127 else f"failed: {err.strip()[-300:]}"
        raise RemoteError(f"{host.cfg.name}: sinfo {why}; is it a Slurm login node?")
    found: dict[str, Partition] = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 6 or not parts[0]:
            continue
        name, avail, limit, nodes, cpus, gres = parts[:6]
        gpus = [int(m) for m in re.findall(r"gpu(?::[\w.-]+)?:(\d+)", gres)]
        p = Partition(name=name.rstrip("*"), default=name.endswith("*"), available=avail == "up",
                      time_limit=limit, nodes=int(nodes) if nodes.isdigit() else 0,
                      cpus_per_node=cpus, gpus_per_node=max(gpus, default=0))
        old = found.get(p.name)  # sinfo prints a line per node configuration
        if old is not None:
            p = Partition(p.name, p.default, p.available, p.time_limit, old.nodes + p.nodes,
                          old.cpus_per_node, max(old.gpus_per_node, p.gpus_per_node))
        found[p.name] = p
    return sorted(found.values(), key=lambda p: (not p.default, p.name))
