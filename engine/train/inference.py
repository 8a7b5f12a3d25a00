"""Use a finished (or stopped) run: rebuild its models from the run folder for evaluation
and sampling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from engine.data import DataBundle, DataError, load_dataset
from engine.project import Project, ProjectError
from engine.tasks import Task, task_class
from engine.train import checkpoint as ckpt
from engine.train.rundir import RunDir, saved_tokenizers
from engine.train.runtime import autocast_factory, resolve_device
from engine.train.setup import SetupError, build_models


@dataclass
class LoadedRun:
    run: RunDir
    project: Project
    bundle: DataBundle
    task: Task


def open_run(path: str | Path, device: str = "cpu") -> LoadedRun:
    """The project, data and trained task of a run folder. Raises ProjectError with a
    message for the user when the folder, its weights or its data are missing."""
    run = RunDir(path)
    project = run.load_project()
    weights = run.weights if run.weights.is_file() else run.checkpoint("last")
    if not weights.is_file():
        raise ProjectError(f"{run.path}: no trained weights yet ({run.weights.name} is missing)")
    dev = resolve_device(device)
    try:
        # the tokenizer the run trained with, not one trained again on today's files
        bundle = load_dataset(project.dataset, tokenizers=saved_tokenizers(run))
    except DataError as e:
        raise ProjectError(f"{run.path}: the run's data cannot be loaded: {e}") from None
    from engine.train.fit import check_fit

    # the project may have been edited since training (another task kind, another input):
    # the same checks as a training run makes, not a tensor shape error later
    misfit = [str(p) for p in check_fit(project, bundle) if p.severity == "error"]
    if misfit:
        raise ProjectError(f"{run.path}: the run's project does not fit its data: "
                           + "; ".join(misfit[:3]))
    bundle.to(dev)
    cls = task_class(project.task.kind)
    from safetensors import SafetensorError

    try:
        models = build_models(project, cls, project.training.seed, dev, training=False)
        ckpt.load_models(models, ckpt.read_weights(weights))
    except (SetupError, RuntimeError, OSError, SafetensorError) as e:
        # a damaged or foreign file: the same sentence as export and resume give
        raise ProjectError(f"{weights}: cannot read the weights ({e})") from None
    autocast, _ = autocast_factory(dev, project.training.amp)
    task = cls(project.task, bundle, models, dev, autocast, project.training.seed)
    for m in models.values():
        m.eval()
    return LoadedRun(run, project, bundle, task)


def evaluate_run(loaded: LoadedRun, split: str = "val", beam_width: int | None = None) -> dict:
    """Metrics of the run's model on ``split`` ("val" or "test"); seq2seq and speech
    decode with ``beam_width`` (None: the task's)."""
    data = loaded.bundle.val if split == "val" else loaded.bundle.test
    if data is None or len(data) == 0:
        raise ProjectError(f"{loaded.run.path}: the dataset has no {split} split "
                           f"(set dataset.{split}_fraction)")
    with torch.no_grad():
        batch = max(loaded.project.training.batch_size, 256)
        if beam_width is not None:
            return loaded.task.evaluate(data, batch, beam_width=beam_width)
        return loaded.task.evaluate(data, batch)
