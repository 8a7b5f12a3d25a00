"""Words for Slurm hosts and jobs, shared by the Hosts dialog, the device list and the
training views: a host's one-line setup and price, and what the scheduler's reason codes
(``squeue``'s REASON, or a job state) mean for the user, in the engine's own words
(:mod:`engine.remote.slurm_jobs`, imported only when a reason is shown).

Plain functions on :class:`~engine.remote.config.HostConfig` values and strings; no Qt.
"""

from __future__ import annotations

from engine.remote.config import HostConfig

#: why a job ended, as the reason code the scheduler gives for it (the engine's
#: :data:`engine.remote.slurm_jobs.ENDED` has the words for the job states)
ENDED_REASONS = {
    "TimeLimit": "the job reached its time limit",
    "NodeDown": "a node of the job failed",
    "NodeFail": "a node of the job failed",
    "Preempted": "the job was preempted by the scheduler",
    "OutOfMemory": "a node ran out of memory",
    "NonZeroExitCode": "the batch script failed",
}


def host_label(name: str, cfg: HostConfig | None) -> str:
    """The device list's entry for a host: ``remote:NAME`` for an SSH host, and for a Slurm
    cluster its partition and the nodes × GPUs its jobs ask for."""
    if cfg is None or cfg.kind != "slurm":
        return f"remote:{name}"
    where = f"{cfg.partition} partition" if cfg.partition else "default partition"
    per_node = (f"{cfg.gpus_per_node} GPU{'s' if cfg.gpus_per_node != 1 else ''}"
                if cfg.gpus_per_node else "CPU")
    return f"{name} (Slurm: {where}, {cfg.nodes}×{per_node})"


def price_text(cfg: HostConfig) -> str:
    """``2.5 USD per hour (one node)``, or "" when no price is set."""
    if cfg.price_per_hour is None:
        return ""
    unit = " per node" if cfg.kind == "slurm" else ""
    return f"{cfg.price_per_hour:g} {cfg.currency} per hour{unit}"


def slurm_summary(cfg: HostConfig) -> str:
    """One line with a Slurm host's job settings ("" for an SSH host)."""
    return cfg.slurm_summary()


def reason_words(reason: str) -> str:
    """The scheduler's reason code (or a job state) in words, as the engine says them
    (the code itself when it is not a known one)."""
    from engine.remote.slurm_jobs import ENDED, WAITING  # the engine's words (imports SSH)

    return WAITING.get(reason) or ENDED_REASONS.get(reason) or ENDED.get(reason) or reason


def queued_text(reason: str) -> str:
    """A job waiting in the queue, for the Runs list: ``Queued (Slurm: Priority) — waiting
    for jobs with a higher priority``."""
    if not reason:
        return "Queued — waiting for the scheduler to start the job"
    return f"Queued (Slurm: {reason}) — {reason_words(reason)}"


def ended_text(reason: str) -> str:
    """A sentence for a job that ended for a scheduler's reason ("" for none)."""
    if not reason:
        return ""
    words = reason_words(reason)
    return f"{words[:1].upper()}{words[1:]} (Slurm: {reason})."
