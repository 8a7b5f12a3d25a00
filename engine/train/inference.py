"""Use a finished (or stopped) run: rebuild its models from the run folder for evaluation
and sampling (:func:`open_run`, with the run's data loaded), or for answering the user's
own inputs (:func:`open_model`, from data.json and the weights alone)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.data import DataBundle, DataError, Split, load_dataset
from engine.project import Project, ProjectError
from engine.tasks import Task, task_class
from engine.train import checkpoint as ckpt
from engine.train.predict_facts import read_info
from engine.train.rundir import RunDir, saved_tokenizers
from engine.train.runtime import autocast_factory, resolve_device
from engine.train.setup import SetupError, build_models


@dataclass
class LoadedRun:
    run: RunDir
    project: Project
    bundle: DataBundle
    task: Task
    #: data.json (how inputs were prepared), None for a run from before it was recorded
    info: dict[str, Any] | None = None


def open_run(path: str | Path, device: str = "cpu") -> LoadedRun:
    """The project, data and trained task of a run folder. Raises ProjectError with a
    message for the user when the folder, its weights or its data are missing."""
    run = RunDir(path)
    project = run.load_project()
    weights = _weights(run)
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
    try:
        info = read_info(run.path)
    except ProjectError:
        info = None  # a damaged data.json: the loaded data describe the inputs anyway
    return _loaded(run, project, bundle, weights, dev, info)


def open_model(path: str | Path, device: str = "cpu") -> LoadedRun:
    """The trained task of a run folder with a stand-in for its data built from data.json
    (no split holds a sample), for predicting on new inputs: it works when the data set
    is gone (a run downloaded from a remote machine, a moved folder) and costs no data
    loading. A run without data.json (trained before LayerForge recorded it) is opened
    with its data, as :func:`open_run` does. Raises ProjectError with a sentence."""
    run = RunDir(path)
    project = run.load_project()
    weights = _weights(run)
    info = read_info(run.path)
    if info is None:
        return open_run(path, device)
    dev = resolve_device(device)
    return _loaded(run, project, stand_in(info, project, run.data_info), weights, dev, info)


def stand_in(info: dict[str, Any], project: Project, where: Path | str = "data.json") -> DataBundle:
    """A DataBundle with everything a task reads to predict (shapes, classes, vocabulary,
    tokenizers, normalisation, sample rate) from a run's data.json, and empty splits;
    ``where`` names data.json in the error a damaged one raises."""
    try:
        shape = tuple(int(d) for d in info["input_shape"])
        dtype = torch.long if info.get("input_dtype") == "long" else torch.float32
        empty = Split(torch.empty((0, *shape), dtype=dtype))
        tokenizers = {}
        for key in ("tokenizer", "target_tokenizer"):
            if isinstance(info.get(key), str):
                from engine.data.texts.tokenizer import TextTokenizer

                tokenizers[key] = TextTokenizer.from_json(info[key])
        return DataBundle(
            train=empty, val=empty, test=None, kind=str(info["kind"]), input_shape=shape,
            input_dtype=str(info.get("input_dtype") or "float"), target=str(info["target"]),
            classes=info.get("classes") or None, vocab=info.get("vocab") or None,
            mean=info.get("mean"), std=info.get("std"), source=str(info.get("source") or ""),
            target_shape=_target_shape(project), tokenizer=tokenizers.get("tokenizer"),
            # pairs with a shared vocabulary: one tokenizer on both sides, as loaded data has
            target_tokenizer=tokenizers.get("target_tokenizer") or (
                tokenizers.get("tokenizer") if info["target"] == "sequence" else None),
            target_vocab=info.get("target_vocab") or None, sample_rate=info.get("sample_rate"))
    except (KeyError, TypeError, ValueError) as e:
        raise ProjectError(f"{where}: does not describe the run's inputs ({e}); restore it "
                           "or train the run again") from None


def _target_shape(project: Project) -> tuple[int, ...]:
    """A seq2seq run's target length: one more than the tokens its decoder reads (the
    decoder's ``tokens`` input, fitted to the data when the run started); () otherwise."""
    decoder = project.graphs.get("decoder")
    if project.task.kind != "seq2seq" or decoder is None:
        return ()
    for node in decoder.nodes:
        if node.type == "Input" and node.id == "tokens" and node.params.get("shape"):
            return (int(node.params["shape"][0]) + 1,)
    return ()


def _weights(run: RunDir) -> Path:
    weights = run.weights if run.weights.is_file() else run.checkpoint("last")
    if not weights.is_file():
        raise ProjectError(f"{run.path}: no trained weights yet ({run.weights.name} is missing)")
    return weights


def _loaded(run: RunDir, project: Project, bundle: DataBundle, weights: Path,
            dev: torch.device, info: dict[str, Any] | None) -> LoadedRun:
    """The run's models built, given its weights, and wrapped in its task."""
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
    return LoadedRun(run, project, bundle, task, info)


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
