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
#: pixels of pictures a segmentation or detection evaluation keeps (with their masks):
#: thousands of small images, fewer large ones, never gigabytes
VISION_PIXELS = 8_000_000
VISION_MIN = 64  # ... but at least this many images
VISION_KINDS = ("segmentation", "detection")


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


def open_with_data(run_dir: str) -> Any:
    """A run with its data set (:func:`engine.train.inference.open_run`), imported when
    first needed: torch is slow to import and the GUI opens without it."""
    from engine.train.inference import open_run

    return open_run(run_dir)


class RunCache:
    """The run opened last, per run folder and weights file version (a run trained again
    is opened again), so a second evaluation, generation or answer does not load it again.
    ``opener`` opens a run folder: :func:`open_with_data` (model and data set) unless
    given, e.g. the Try it panel's, which opens the model alone."""

    def __init__(self, opener: Callable[[str], Any] | None = None) -> None:
        self._opener = opener or open_with_data
        self._key: tuple[str, float] | None = None
        self._loaded: Any = None
        #: held while a job uses a loaded run (the evaluation's jobs, and any other panel
        #: given this cache, run on different threads)
        self.lock = threading.RLock()

    def open(self, run_dir: str) -> Any:
        from engine.train.rundir import RunDir

        run = RunDir(run_dir)
        weights = run.weights if run.weights.is_file() else run.checkpoint("last")
        stamp = weights.stat().st_mtime if weights.is_file() else 0.0
        key = (str(Path(run_dir).resolve()), stamp)
        if key != self._key:
            self._key, self._loaded = None, None  # keep one: models and data can be large
            self._loaded = self._opener(run_dir)
            self._key = key
        return self._loaded


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
    #: segmentation: each image's IoU (``true``/``pred`` hold uint8 masks [H, W])
    image_scores: list[float] = field(default_factory=list)
    #: detection: the matching of ``pred`` (dicts of boxes, scores, labels) with ``true``
    #: (rows class, x0, y0, x1, y1), a detection_match.Matches; None: made when shown
    matches: Any = None
    #: samples in the split (vision galleries keep only the first ones); 0: ``len(true)``
    split_size: int = 0
    #: the data's kind ("tokens", "audio", "image"...): text and sound classifiers get
    #: their own views (app.panels.lang_results.view_of)
    input_kind: str = ""
    #: audio: the first clips of the split (float32 [L]) at ``sample_rate``
    clips: list[Any] = field(default_factory=list)
    sample_rate: int = 0
    #: seq2seq and speech: the decoded samples ({source, reference, output}), the beam
    #: width they were decoded with, and the width asked for (None: the run's own)
    samples: list[dict[str, str]] = field(default_factory=list)
    beam_width: int = 1
    beam: int | None = None


def evaluate(cache: RunCache, run_dir: str, split: str, beam: int | None = None) -> Evaluation:
    """Metrics (the engine's evaluate_run) and the predictions for the samples of
    ``split``: every sample for classification and regression, the first
    :func:`vision_limit` images (with their masks or boxes) for segmentation and
    detection, texts, clips and decoded samples for the language and speech tasks
    (decoded with the beam width ``beam``; None: the run's own)."""
    with cache.lock:
        return _evaluate(cache.open(run_dir), run_dir, split, beam)


def _evaluate(loaded: Any, run_dir: str, split: str, beam: int | None) -> Evaluation:
    import torch

    from app.panels import lang_results
    from app.widgets.images import images_to_uint8

    metrics = lang_results.evaluate_with_beam(loaded, split, beam)
    b = loaded.bundle
    data = b.val if split == "val" else b.test
    kind = loaded.project.task.kind
    ev = Evaluation(run_dir, split, kind, metrics, describe=b.describe(), beam=beam)
    if kind in VISION_KINDS:
        return _vision(loaded, data, ev)
    if kind in ("seq2seq", "speech"):
        return lang_results.fill(loaded, data, ev)
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
    elif b.kind in ("tokens", "audio"):
        lang_results.fill(loaded, data, ev)
    else:
        raw = b.denormalize(x.float()).reshape(len(x), -1)[:GALLERY_LIMIT]
        for row in raw:
            vals = ", ".join(f"{float(v):.3g}" for v in row[:6])
            ev.texts.append(f"({vals}{', …' if row.numel() > 6 else ''})")
    return ev


def vision_limit(image_shape: tuple[int, ...]) -> int:
    """How many images of a split a vision evaluation keeps for its gallery."""
    pixels = max(int(image_shape[-1]) * int(image_shape[-2]), 1)
    return max(VISION_MIN, min(GALLERY_LIMIT, VISION_PIXELS // pixels))


def _first(data: Any, limit: int, batch_size: int) -> tuple[Any, Any]:
    """The first ``limit`` inputs and targets of a split, on the CPU (a streaming split is
    read batch by batch up to there)."""
    import torch

    from engine.data.core import iter_batches

    if not getattr(data, "streaming", False):
        return data.x[:limit].cpu(), data.y[:limit].cpu()
    xs, ys, n = [], [], 0
    for x, y in iter_batches(data, batch_size, shuffle=False):
        xs.append(x.cpu())
        ys.append(y.cpu())
        n += len(x)
        if n >= limit:
            break
    return torch.cat(xs)[:limit], torch.cat(ys)[:limit]


def _vision(loaded: Any, data: Any, ev: Evaluation) -> Evaluation:
    """A segmentation or detection evaluation's gallery: pictures, true masks or boxes
    from the split's targets, predictions from the task's ``predict``."""
    import numpy as np

    from app.panels.detection_match import Matches, prediction_arrays, true_boxes
    from app.widgets.images import images_to_uint8

    b = loaded.bundle
    ev.classes = [str(c) for c in (ev.metrics.get("classes") or b.classes or [])]
    if data is None or not len(data):
        return ev
    ev.split_size = len(data)
    bs = max(loaded.project.training.batch_size, 256)
    limit = min(len(data), vision_limit(tuple(b.input_shape)))
    x, y = _first(data, limit, bs)
    ev.images = images_to_uint8(x, b, limit)
    if ev.kind == "segmentation":
        masks, ious = loaded.task.predict(data, bs, limit)
        ev.pred = list(np.asarray(masks, dtype=np.uint8)[:limit])
        ev.true = list(y.numpy().astype(np.uint8))  # classes 0..K-1 and the ignore 255
        ev.image_scores = [float(v) for v in list(ious)[:limit]]
    else:
        preds = loaded.task.predict(data, bs, limit)[:limit]
        ev.pred = [dict(zip(("boxes", "scores", "labels"), prediction_arrays(p), strict=True))
                   for p in preds]
        ev.true = [true_boxes(row) for row in y.numpy()]
        ev.matches = Matches.of(ev.true, ev.pred)
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
