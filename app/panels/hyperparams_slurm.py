"""The Device list's remote hosts and the run's GPU row for them, in the Hyperparameters
panel: an SSH host is ``remote:NAME``; a Slurm cluster is listed with its partition and
nodes × GPUs, and for it the GPU row means GPUs per node, with a line saying how many nodes
and processes the batch job asks for.

The nodes of a run are the host's (Remote hosts…); ``training.gpus`` is per project: on an
SSH host the processes on the host, on a Slurm cluster the GPUs (a CPU job: processes) on
each node. Choosing a Slurm cluster sets it to the host's GPUs per node, the command line's
default, so the app and ``layerforge train --remote`` ask for the same job.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

from app.runs.slurm_text import host_label, price_text, slurm_summary
from engine.project import Project
from engine.remote.config import HostConfig

SSH_TIP = ("Train on {host} over SSH: LayerForge uploads the engine and the data, and the "
           "plots follow the run live (hosts: Remote hosts…).")
SLURM_TIP = ("Train on the Slurm cluster {host}: LayerForge uploads the engine and the data "
             "to its login node and submits one batch job (sbatch). The run waits in the "
             "queue until the scheduler starts it; then the plots follow it live. "
             "{summary}.")
SSH_GPUS = "GPUs on the host"
SSH_GPUS_TIP = ("Processes on the remote host, one per GPU; above 1 they train together "
                "(DistributedDataParallel).")
SLURM_GPUS_TIP = ("GPUs asked for on each node of the batch job, one process per GPU (a "
                  "CPU job: processes per node); all of them train together "
                  "(DistributedDataParallel across the nodes).")


def add_host_items(box: QComboBox, names: list[str], configs: dict[str, HostConfig]) -> None:
    """Append a Device entry per remote host (data ``remote:NAME``), with its tooltip."""
    model = box.model()
    for name in names:
        cfg = configs.get(name)
        box.addItem(host_label(name, cfg), f"remote:{name}")
        if cfg is not None and cfg.kind == "slurm":
            tip = SLURM_TIP.format(host=name, summary=slurm_summary(cfg))
        else:
            tip = SSH_TIP.format(host=name)
        if cfg is not None and cfg.price_per_hour is not None:
            tip += f" Price: {price_text(cfg)}."
        model.item(box.count() - 1).setToolTip(tip)  # type: ignore[attr-defined]


def slurm_default_gpus(cfg: HostConfig | None, project: Project) -> int | None:
    """The GPUs per node a run on the Slurm host ``cfg`` takes when it is chosen: the
    host's, as ``layerforge train --remote`` does without ``--gpus``; None when nothing is
    to change (an SSH host, a CPU job, or the project has that number already)."""
    if cfg is None or cfg.kind != "slurm" or not cfg.gpus_per_node:
        return None
    return None if project.training.gpus == cfg.gpus_per_node else cfg.gpus_per_node


def job_line(cfg: HostConfig, gpus: int) -> str:
    """What a run on the Slurm host ``cfg`` asks for with ``gpus`` per node."""
    nodes = f"{cfg.nodes} node{'s' if cfg.nodes != 1 else ''}"
    if cfg.gpus_per_node:
        each = f"{gpus} GPU{'s' if gpus != 1 else ''} each"
    else:
        each = f"{gpus} CPU process{'es' if gpus != 1 else ''} each"
    total = cfg.nodes * gpus
    return (f"Batch job: {nodes} × {each} = {total} process{'es' if total != 1 else ''} "
            "(the nodes are the host's setting: Remote hosts…).")


def show_gpu_row(form: QFormLayout, gpus: QWidget, note: QLabel, cfg: HostConfig | None,
                 remote: bool, value: int) -> None:
    """Name the GPU row for the chosen device and show the Slurm job line under it."""
    slurm = remote and cfg is not None and cfg.kind == "slurm"
    label = form.labelForField(gpus)
    if isinstance(label, QLabel):
        if slurm and cfg is not None:
            label.setText("GPUs per node" if cfg.gpus_per_node else "Processes per node")
        else:
            label.setText(SSH_GPUS)
    gpus.setToolTip(SLURM_GPUS_TIP if slurm else SSH_GPUS_TIP)
    note.setText(job_line(cfg, value) if slurm and cfg is not None else "")
    form.setRowVisible(note, slurm)
