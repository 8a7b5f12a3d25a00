"""The hyperparameter panel's background jobs: the learning rate over a run (the engine's
own schedule, torch-free) and the configured remote hosts. The CUDA devices come from the
warm worker's ``Ready`` event, so the editor never imports torch.

The panel runs these on its :class:`app.runs.jobs.Jobs` and gets plain Python values back;
nothing here touches a widget.
"""

from __future__ import annotations

import math

from engine.project import TrainingConfig


def lr_curve(cfg: TrainingConfig, steps_per_epoch: int, points: int = 400) -> tuple[list[float], list[float]]:
    """Epochs and learning rates of ``cfg``'s schedule over the whole run, sampled at most
    ``points`` times (the engine's own LRSchedule)."""
    from engine.train.schedule import LRSchedule

    spe = max(1, steps_per_epoch)
    total = spe * cfg.epochs
    sched = LRSchedule(cfg, spe, total)
    stride = max(1, math.ceil(total / points))
    steps = list(range(0, total, stride)) + [total - 1]
    return [s / spe for s in steps], [sched.lr_at(s) for s in steps]


def remote_hosts() -> list[str]:
    """Names of the configured remote hosts, when the remote module is there."""
    try:
        from engine.remote.config import load_hosts
    except ImportError:
        return []
    try:
        return sorted(load_hosts())
    except Exception:
        return []


def remote_host_configs() -> dict:
    """The configured remote hosts by name, sorted (their kind and Slurm setup label the
    Device list); empty when the hosts file cannot be read (the Hosts dialog says why)."""
    try:
        from engine.remote.config import load_hosts
    except ImportError:
        return {}
    try:
        hosts = load_hosts()
    except Exception:
        return {}
    return {name: hosts[name] for name in sorted(hosts)}
