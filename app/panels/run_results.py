"""What a trained run gives the evaluation and samples panels: its folder's record (task,
final metrics, sample files), predictions and metrics on a split computed with the engine,
and generated text, streamed.

The panels run :func:`evaluate` and :func:`generate` on their :class:`app.runs.jobs.Jobs`
(they load the model with torch); :func:`read_run` is quick enough for the GUI thread.
Nothing here touches a widget; results are plain Python values (lists, numpy arrays).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GALLERY_LIMIT = 5000  # samples of a split kept as thumbnails


@dataclass
class RunInfo:
    """What the GUI thread reads from a run folder without torch."""

    path: str
    name: str
    kind: str
    evaluation: dict[str, Any]
    sample_files: dict[int, str]  # epoch -> file in samples/


def read_run(run_dir: str) -> RunInfo:
    """The task kind, evaluation.json and per-epoch sample files of a run folder. Raises
    ProjectError (a message for the user) when it is not a run folder."""
    from engine.train.rundir import RunDir

    run = RunDir(run_dir)
    project = run.load_project()
    evaluation: dict[str, Any] = {}
    if run.evaluation.is_file():
        try:
            evaluation = json.loads(run.evaluation.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            evaluation = {}
    files: dict[int, str] = {}
    if run.samples.is_dir():
        for f in sorted(run.samples.glob("epoch*.*")):
            digits = f.stem.removeprefix("epoch")
            if digits.isdigit() and f.suffix in (".png", ".txt"):
                files[int(digits)] = str(f)
    return RunInfo(str(run.path), run.path.name, project.task.kind, evaluation, files)


class RunCache:
    """Loaded runs (models and data), one per run folder and weights file version, so a
    second evaluation or generation does not load them again. Used by one worker at a time."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, float], Any] = {}

    def open(self, run_dir: str) -> Any:
        from engine.train.inference import open_run
        from engine.train.rundir import RunDir

        run = RunDir(run_dir)
        weights = run.weights if run.weights.is_file() else run.checkpoint("last")
        stamp = weights.stat().st_mtime if weights.is_file() else 0.0
        key = (str(Path(run_dir).resolve()), stamp)
        if key not in self._runs:
            self._runs.clear()  # keep one: models and data can be large
            self._runs[key] = open_run(run_dir)
        return self._runs[key]


@dataclass
class Evaluation:
    """Metrics and per-sample predictions of one split of a run."""

    run_dir: str
    split: str
    kind: str
    metrics: dict[str, Any]
    classes: list[str] = field(default_factory=list)
    true: list[Any] = field(default_factory=list)
    pred: list[Any] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    images: list[Any] = field(default_factory=list)  # uint8 arrays, for image data
    texts: list[str] = field(default_factory=list)  # a short description per sample
    describe: str = ""


def evaluate(cache: RunCache, run_dir: str, split: str) -> Evaluation:
    """Metrics (the engine's evaluate_run) and, for classification and regression, the
    predictions for every sample of ``split``."""
    import torch

    from app.widgets.images import images_to_uint8
    from engine.train.inference import evaluate_run

    loaded = cache.open(run_dir)
    metrics = evaluate_run(loaded, split)
    b = loaded.bundle
    data = b.val if split == "val" else b.test
    kind = loaded.project.task.kind
    ev = Evaluation(run_dir, split, kind, metrics, describe=b.describe())
    if kind not in ("classification", "regression") or getattr(data, "streaming", False):
        return ev
    out, y = loaded.task.outputs(data, max(loaded.project.training.batch_size, 256))
    assert y is not None
    if kind == "classification":
        probs = torch.softmax(out, -1)
        conf, pred = probs.max(-1)
        ev.classes = list(metrics.get("classes") or [str(i) for i in range(out.shape[-1])])
        ev.pred, ev.true = pred.tolist(), y.reshape(-1).tolist()
        ev.confidence = conf.tolist()
    else:
        ev.pred = out.reshape(len(y), -1)[:, 0].tolist()
        ev.true = y.reshape(len(y), -1)[:, 0].float().tolist()
    x = data.x.cpu()
    if b.kind == "image":
        ev.images = images_to_uint8(x, b, GALLERY_LIMIT)
    else:
        raw = b.denormalize(x.float()).reshape(len(x), -1)[:GALLERY_LIMIT]
        for row in raw:
            vals = ", ".join(f"{float(v):.3g}" for v in row[:6])
            ev.texts.append(f"({vals}{', …' if row.numel() > 6 else ''})")
    return ev


class Stop:
    """A flag the GUI sets to end a generation early."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def generate(cache: RunCache, run_dir: str, prompt: str, length: int, temperature: float,
             top_k: int, seed: int, emit: Callable[[str], None], stop: Stop) -> str:
    """Continue ``prompt`` with the run's language model (the engine's own sampling,
    :meth:`LanguageModelTask.stream`), calling ``emit`` with each new character; ``stop``
    ends it early."""
    task = cache.open(run_dir).task
    if task.kind != "language_model":
        raise ValueError(f"a {task.kind} model does not generate text")
    out: list[str] = []
    for ch in task.stream(prompt, length, temperature, top_k, seed):
        if stop.is_set():
            break
        out.append(ch)
        emit(ch)
    return "".join(out)
