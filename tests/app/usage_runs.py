"""Run folders with usage records for the Runs list's cost columns (a test and the
screenshot script): a local run trained by a real worker process with this machine's price
set, a copy made to look like a GPU run on an SSH host with its own price, and a copy
without a record (a run from before usage was recorded)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def make_usage_runs(folder: Path, stem: str = "mlp") -> list[Path]:
    """``folder/<stem>-local``, ``-remote`` and ``-old`` (see the module docstring); the
    project ``folder/<stem>.lforge`` whose runs they are."""
    from engine.project import save_project
    from engine.templates import load_template
    from engine.train.events import Finished
    from engine.train.worker_client import WorkerClient

    config = folder / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "machine.json").write_text(json.dumps({"price_per_hour": 0.12, "currency": "USD"}))
    project = load_template("mlp")
    project.dataset = project.dataset.model_copy(update={"samples": 600})
    project.training = project.training.model_copy(update={"epochs": 3, "threads": 1})
    save_project(project, folder / f"{stem}.lforge")
    runs = folder / "runs"
    local = runs / f"{stem}-20250101-120000"
    with WorkerClient(env={**os.environ, "LAYERFORGE_CONFIG_DIR": str(config)}) as client:
        client.submit(project, local)
        last = list(client.events())[-1]
    assert isinstance(last, Finished), last
    remote = runs / f"{stem}-20250102-120000"
    shutil.copytree(local, remote)
    (remote / "remote.json").write_text(json.dumps(
        {"id": remote.name, "host": "gpu1", "local_dir": str(remote), "status": "finished"}))
    usage = json.loads((local / "usage.json").read_text())
    hours = 2.5
    usage |= {"host": "gpu1", "host_kind": "ssh", "device": "cuda", "gpus": 2, "processes": 2,
              "cores": 16, "wall_s": hours * 3600, "gpu_hours": hours * 2,
              "core_hours": hours * 16, "peak_memory_mb": 5300.0, "peak_gpu_memory_mb": 14100.0,
              "price_per_hour": 3.06, "currency": "EUR", "cost": hours * 3.06}
    (remote / "usage.json").write_text(json.dumps(usage))
    old = runs / f"{stem}-20241231-120000"
    shutil.copytree(local, old)
    (old / "usage.json").unlink()
    return [local, remote, old]
