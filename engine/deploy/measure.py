"""What an int8 export measures, on onnxruntime's outputs: the task's validation metric
and the median CPU latency.

The metrics are the trainer's own definitions (engine.tasks), so the figures compare with
evaluation.json: classification accuracy, regression R^2, segmentation mean IoU (pixels
marked ``task.ignore_index`` left out). Sessions run on one intra-op thread: the numbers
then compare across machines and do not depend on what else the machine is running.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.deploy.calibration import EvalSet

# onnxruntime writes a device id under ~/.cache and uploads telemetry unless told not to
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

#: the task kinds an int8 export covers, and the metric it compares them on
METRICS = {"classification": "accuracy", "regression": "r2", "segmentation": "miou"}
EVAL_BATCH = 128
LATENCY_RUNS = 200
WARMUP_RUNS = 10

Feeds = dict[str, np.ndarray]


def session(path: Path, threads: int = 1):
    """An onnxruntime CPU session on ``threads`` intra-op threads, run sequentially."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def metric(sess, data: EvalSet, kind: str, *, classes: int = 0,
           ignore_index: int = 255) -> float:
    """The task's metric (see METRICS) of the model in ``sess`` on ``data``, from its
    first output."""
    import torch

    from engine.tasks.regression import regression_metrics
    from engine.tasks.segmentation import confusion_matrix, segmentation_metrics, valid_pixels

    name = sess.get_inputs()[0].name
    right = total = 0
    preds: list[np.ndarray] = []
    cm = None
    outputs = 0
    for start in range(0, len(data), EVAL_BATCH):
        x = data.x[start:start + EVAL_BATCH]
        y = data.y[start:start + EVAL_BATCH]
        out = sess.run(None, {name: x})[0]
        if kind == "classification":
            right += int((out.reshape(out.shape[0], -1).argmax(1) == y).sum())
            total += int(y.shape[0])
        elif kind == "regression":
            preds.append(out.reshape(y.shape).astype(np.float64))
        else:  # segmentation: a confusion matrix over the counted pixels, as the trainer
            outputs = out.shape[1]
            width = max(classes or outputs, outputs)
            yt = torch.from_numpy(y)
            valid = valid_pixels(yt, ignore_index, classes or outputs)
            pred = torch.from_numpy(out.argmax(1))
            batch_cm = confusion_matrix(pred[valid], yt[valid], width)
            cm = batch_cm if cm is None else cm + batch_cm
    if kind == "classification":
        return right / total if total else 0.0
    if kind == "regression":
        pred = torch.from_numpy(np.concatenate(preds))
        return float(regression_metrics(pred, torch.from_numpy(data.y).double())["r2"])
    if cm is None:
        return 0.0
    return float(segmentation_metrics(cm, classes or outputs)["miou"])


def feeds_maker(sess_or_name, x: np.ndarray) -> Callable[[int], Feeds]:
    """``make(batch)``: the first ``batch`` samples of ``x`` (repeated when there are fewer)
    as feeds for the model's input."""
    name = sess_or_name if isinstance(sess_or_name, str) else sess_or_name.get_inputs()[0].name

    def make(batch: int) -> Feeds:
        reps = -(-batch // x.shape[0])
        rows = np.concatenate([x] * reps)[:batch] if reps > 1 else x[:batch]
        return {name: np.ascontiguousarray(rows)}

    return make


def latency(path: Path, make_feeds: Callable[[int], Feeds], batch: int,
            runs: int = LATENCY_RUNS) -> float:
    """Median wall time in milliseconds of ``runs`` onnxruntime runs at ``batch`` on one
    CPU thread, after WARMUP_RUNS runs that are not counted (first-run allocations)."""
    sess = session(path, threads=1)
    feeds = make_feeds(batch)
    for _ in range(WARMUP_RUNS):
        sess.run(None, feeds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0
