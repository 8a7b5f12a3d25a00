"""The dataset panel's background jobs: the data catalogue, dataset previews and fitting
the model to the data (with the cache of the last loaded data they share).

The panel runs these on its :class:`app.runs.jobs.Jobs` (they import torch and read data) and
gets plain Python values back; nothing here touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.panels import dataset_audio, dataset_text, dataset_vision
from engine.project import DatasetSpec, Graph, Project

PREVIEW_IMAGES = 24
PREVIEW_ROWS = 8
PREVIEW_TEXT = 600
PREVIEW_POINTS = 5000  # points of a 2-D scatter (a built-in set's train split holds fewer)
PREVIEW_TARGETS = 100_000  # regression targets in the histogram


@dataclass
class Preview:
    """What the dataset panel shows about a loaded dataset."""

    describe: str
    kind: str
    train_size: int
    images: list[Any] = field(default_factory=list)  # uint8 arrays
    labels: list[str] = field(default_factory=list)
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)
    #: 2-D classification: train samples as float [n, 2] (as read, not normalised) and
    #: their class indices [n], for the scatter plot; None otherwise
    points: Any = None
    point_classes: Any = None
    #: regression: the train split's target values (float [n]), for the histogram
    targets: Any = None
    #: segmentation and detection: the summary and annotated samples (dataset_vision)
    vision: Any = None
    #: labelled texts and pairs: rows, label counts and token lengths (dataset_text)
    texts: Any = None
    #: sound classes and speech: clips, the first one drawn, class counts (dataset_audio)
    audio: Any = None
    #: the (resolved) spec this shows, so that a result for a changed dataset is dropped
    spec: DatasetSpec | None = None


@dataclass
class FitResult:
    edits: list[tuple[str, str, str, Any]]  # graph, node, param, value
    changes: list[str]
    problems: list[str]
    fields: list[tuple[str, Any]] = field(default_factory=list)  # dataset field, value
    #: graphs that gained or lost blocks or wires, as they should become
    graphs: list[tuple[str, Graph]] = field(default_factory=list)


def catalogue() -> tuple[dict[str, str], dict[str, str]]:
    from engine.data import BUILTIN, DOWNLOADABLE

    return dict(BUILTIN), dict(DOWNLOADABLE)


def resolve_spec(spec: DatasetSpec, base: str | None) -> DatasetSpec:
    """``spec`` with a relative path made absolute against the project's folder."""
    if spec.path and base and not Path(spec.path).is_absolute():
        return spec.model_copy(update={"path": str(Path(base) / spec.path)})
    return spec


def missing_choice(spec: DatasetSpec) -> str:
    """What the user must choose before ``spec`` can be loaded ("" when nothing)."""
    if dataset_vision.vision_target(spec) and spec.source != "builtin" and not spec.path:
        return "Choose the images folder."
    language = dataset_text.missing(spec) or dataset_audio.missing(spec)
    if language:
        return language
    if spec.source in ("folder", "idx", "csv", "text") and not spec.path:
        return "Choose a file or folder for this source."
    if spec.source in ("builtin", "download") and not spec.name:
        return "Choose a data set."
    return ""


class BundleCache:
    """The last loaded dataset, keyed by its spec, shared by preview and fit (one worker
    thread at a time uses it)."""

    def __init__(self) -> None:
        self.key = ""
        self.bundle: Any = None

    def load(self, spec: DatasetSpec) -> Any:
        from engine.data import load_dataset

        key = spec.model_dump_json()
        if key != self.key or self.bundle is None:
            self.bundle, self.key = None, ""
            self.bundle = load_dataset(spec)
            self.key = key
        return self.bundle


def _label(bundle: Any, y: Any) -> str:
    if y is None:
        return ""
    if bundle.classes and y.dim() == 0:
        return str(bundle.classes[int(y)])
    if y.numel() == 1:
        return f"{float(y):.4g}"
    return ""


def preview(cache: BundleCache, spec: DatasetSpec) -> Preview:
    """What the panel shows of ``spec``'s data (worker thread)."""
    if dataset_vision.vision_target(spec):  # summary and samples, not the whole set
        data, train_size = dataset_vision.load(spec)
        return Preview(dataset_vision.describe(spec, data, train_size), "image", train_size,
                       vision=data, spec=spec)
    if dataset_text.text_kind(spec):  # rows and counts, not the tokenized set
        texts, train_size = dataset_text.load(spec)
        return Preview(dataset_text.describe(spec, texts, train_size), "tokens", train_size,
                       texts=texts, spec=spec)
    if dataset_audio.audio_kind(spec):  # a few clips, not the decoded set
        audio, train_size = dataset_audio.load(spec)
        return Preview(dataset_audio.describe(spec, audio, train_size), "audio", train_size,
                       audio=audio, spec=spec)
    from app.widgets.images import images_to_uint8

    b = cache.load(spec)
    train = b.train
    out = Preview(b.describe(), b.kind, len(train), spec=spec)
    if getattr(train, "streaming", False):
        xs, ys = [], []
        for i in range(min(PREVIEW_IMAGES, len(train))):
            raw, y = train.dataset[i]
            xs.append(raw)
            ys.append(y)
        import torch

        x = torch.stack([torch.as_tensor(v) for v in xs])
        x = train.prepare(x) if train.prepare is not None else x
        y = torch.as_tensor(ys)
        y_all = train.y
    else:
        x, y, y_all = train.x[:PREVIEW_IMAGES], (None if train.y is None else train.y[:PREVIEW_IMAGES]), train.y
    if b.kind == "image":
        out.images = images_to_uint8(x, b, PREVIEW_IMAGES)
        out.labels = [_label(b, y[i]) if y is not None else "" for i in range(len(out.images))]
    elif b.kind == "tokens" and b.vocab:
        n = max(1, PREVIEW_TEXT // max(1, b.input_shape[0]))
        out.text = "".join(b.decode(row) for row in train.x[:n])[:PREVIEW_TEXT]
    else:
        feats = x.reshape(x.shape[0], -1)[:PREVIEW_ROWS]
        shown = min(feats.shape[1], 8)
        out.header = [f"x{i}" for i in range(shown)] + (["…"] if feats.shape[1] > shown else [])
        out.header.append("target")
        raw = b.denormalize(x[:PREVIEW_ROWS].float()).reshape(feats.shape[0], -1)
        for i in range(feats.shape[0]):
            row = [f"{float(v):.4g}" for v in raw[i, :shown]]
            if feats.shape[1] > shown:
                row.append("…")
            row.append(_label(b, y[i]) if y is not None else "")
            out.rows.append(row)
    if b.kind != "image" and not (b.kind == "tokens" and b.vocab):
        _add_plot_data(out, b, train)
    if b.classes and y_all is not None:
        import torch

        counts = torch.bincount(y_all.reshape(-1).long().cpu(), minlength=len(b.classes))
        out.counts = [(str(c), int(n)) for c, n in zip(b.classes, counts.tolist(), strict=False)]
    return out


def _add_plot_data(out: Preview, b: Any, train: Any) -> None:
    """The numbers the preview plots: 2-D samples with their classes, or the regression
    target's values."""
    if getattr(train, "streaming", False) or train.x is None or train.y is None:
        return
    if b.classes and train.x.reshape(len(train.x), -1).shape[1] == 2:
        n = min(PREVIEW_POINTS, len(train.x))
        out.points = b.denormalize(train.x[:n].float()).reshape(n, 2).cpu().numpy()
        out.point_classes = train.y[:n].reshape(-1).long().cpu().numpy()
    elif b.target == "real":
        out.targets = train.y.reshape(-1)[:PREVIEW_TARGETS].float().cpu().numpy()


def fit(cache: BundleCache, project: Project, spec: DatasetSpec) -> FitResult:
    """The parameter edits that adapt ``project`` to the data, as fit_project makes them."""
    from engine.train.fit import check_fit, fit_project, fitted_data

    bundle = cache.load(spec)
    fitted = project.model_copy(deep=True)
    changes = fit_project(fitted, bundle)
    edits: list[tuple[str, str, str, Any]] = []
    reshaped: list[tuple[str, Graph]] = []
    for gname, graph in fitted.graphs.items():
        before = project.graphs.get(gname)
        if before is not None and (
                [n.id for n in before.nodes] != [n.id for n in graph.nodes]
                or before.edges != graph.edges):
            reshaped.append((gname, graph))  # blocks added (a head, a pool): the whole graph
            continue
        for node in graph.nodes:
            old = before.node(node.id) if before is not None else None
            if old is None:
                continue
            for name, value in node.params.items():
                if old.params.get(name) != value:
                    edits.append((gname, node.id, name, value))
    fields = [(name, value) for name, value in fitted.dataset.model_dump().items()
              if getattr(project.dataset, name) != value]
    # a resized data set is checked as it will be loaded, not as it was
    problems = [str(p) for p in check_fit(fitted, fitted_data(fitted, bundle))]
    return FitResult(edits, changes, problems, fields, reshaped)
