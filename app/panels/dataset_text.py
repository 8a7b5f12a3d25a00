"""Text data in the dataset panel (labelled texts, text pairs and their built-in sets):
which specs they are, the columns of a file's header for the column choices, and the
background job that reads what the panel shows of them through the engine's
``engine.data.texts`` (``summary`` and ``preview``: rows, label counts, token lengths, the
columns found, the entries skipped and why), so a preview never tokenizes the whole set
into tensors.

Nothing here touches a widget: the job returns plain values; the drawing is
``dataset_text_views``' business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.project import DatasetSpec

#: the file sources of text data
TEXT_SOURCES = ("texts", "pairs")
#: the built-in language and sound sets, by the file source their samples are like
BUILTIN_KINDS = {"sentiment": "texts", "dates": "pairs", "keywords": "audio",
                 "spoken_digits": "speech"}
PREVIEW_ROWS = 50
#: the files whose first line (or first object) names the columns
HEADER_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
#: a JSON array is parsed whole for its first object's keys only when this small (bytes)
JSON_ARRAY_LIMIT = 2 * 1024**2  # read in the GUI thread: kept small


def data_kind(spec: DatasetSpec, sources: tuple[str, ...]) -> str:
    """The one of ``sources`` that ``spec``'s samples are (a built-in set: the source its
    samples are like), or "" for other data."""
    kind = BUILTIN_KINDS.get(spec.name, "") if spec.source == "builtin" else spec.source
    return kind if kind in sources else ""


def text_kind(spec: DatasetSpec) -> str:
    """"texts" (text classification), "pairs" (sequence to sequence) or "" for other data."""
    return data_kind(spec, TEXT_SOURCES)


def missing(spec: DatasetSpec) -> str:
    """What the user must choose before ``spec``'s text files can be read ("" when nothing)."""
    if spec.source in TEXT_SOURCES and not spec.path.strip():
        return ("Choose the text file or folder." if spec.source == "texts"
                else "Choose the pairs file.")
    return ""


def has_columns(spec: DatasetSpec) -> bool:
    """Whether ``spec`` (a resolved path) is one file with named columns: a CSV, TSV or
    JSONL file, not a folder of class folders nor two aligned text files."""
    if spec.source not in TEXT_SOURCES or not spec.path.strip():
        return False
    if spec.source == "pairs" and spec.target_path.strip():
        return False
    path = Path(spec.path).expanduser()
    return not path.is_dir() and path.suffix.lower() in HEADER_SUFFIXES


def header_columns(path: str) -> list[str]:
    """The column names of a CSV/TSV file's first line, or the keys of a JSON Lines file's
    first object (or a JSON array's); raises OSError for an unreadable file, ValueError for
    a malformed first object."""
    file = Path(path).expanduser()
    if file.suffix.lower() not in JSON_SUFFIXES:
        from app.panels.dataset_views import csv_header  # the engine's delimiter guess

        return csv_header(str(file))
    with open(file, encoding="utf-8-sig", errors="replace") as f:
        first_line = next((line for line in f if line.strip()), "")
    if not first_line:
        return []
    if first_line.lstrip().startswith("["):  # a JSON array of objects
        if file.stat().st_size > JSON_ARRAY_LIMIT:
            return []
        items = json.loads(file.read_text(encoding="utf-8-sig", errors="replace"))
        first = items[0] if isinstance(items, list) and items else None
    else:
        first = json.loads(first_line)
    if not isinstance(first, dict):
        raise ValueError("its first entry is not a JSON object")
    return [str(k) for k in first]


@dataclass
class Histogram:
    """Counts per bin: ``edges`` has one more value than ``counts``."""

    title: str
    edges: list[float]
    counts: list[int]


@dataclass
class TextData:
    """What the panel shows of text data: ``rows`` of (text, label) or (source, target)
    under ``header``, the label counts, the token length histograms (one, or source and
    target), the columns read and the entries skipped with their problems."""

    kind: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)
    lengths: list[Histogram] = field(default_factory=list)
    columns: str = ""  # "text column: review, label column: stars"
    samples: int = 0
    train: int = 0  # of ``samples``, the training split's
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    #: the engine's summary: vocabulary sizes, the longest texts and how many are cut...
    summary: dict[str, Any] = field(default_factory=dict)


def _histogram(title: str, value: Any) -> Histogram | None:
    """The engine's histogram ({"bins"|"edges": [...], "counts": [...]}) or None."""
    if not isinstance(value, dict):
        return None
    edges = list(value.get("bins", value.get("edges", [])))
    counts = [int(c) for c in value.get("counts", [])]
    if not counts or len(edges) != len(counts) + 1:
        return None
    return Histogram(title, [float(e) for e in edges], counts)


def _counts(value: Any) -> list[tuple[str, int]]:
    if isinstance(value, dict):
        return [(str(k), int(n)) for k, n in value.items()]
    return [(str(k), int(n)) for k, n in value or []]


def _columns(kind: str, found: Any) -> str:
    """"text column: review, label column: stars" from the engine's columns found."""
    if isinstance(found, dict):  # {"text": name, "target": name, "all": [...]}
        text, label = ("text", "label") if kind == "texts" else ("source", "target")
        parts = [f"{text} {found.get('text')!r}" if found.get("text") else "",
                 f"{label} {found.get('target')!r}" if found.get("target") else ""]
        return ", ".join(p for p in parts if p)
    if isinstance(found, list | tuple):
        return ", ".join(str(c) for c in found)
    return str(found or "")


def read(spec: DatasetSpec, rows: int = PREVIEW_ROWS) -> TextData:
    """The summary and first ``rows`` rows of ``spec`` (worker thread). Raises the engine's
    ``DataError`` (a sentence naming the file and row) for data it cannot use."""
    from engine.data.texts import preview

    kind = text_kind(spec)
    p = preview(spec, rows=rows)
    keys = ("text", "label", "split") if kind == "texts" else ("source", "target", "split")
    data = TextData(kind, keys, summary=p)
    data.rows = [tuple(str(r.get(k, "")) for k in keys) for r in p.get("rows", [])]
    data.counts = _counts(p.get("label_counts"))
    if kind == "texts":
        hists = [("tokens per text", p.get("lengths"))]
    else:
        hists = [("tokens per source", p.get("lengths")),
                 ("tokens per target (with start and end)", p.get("target_lengths"))]
    data.lengths = [h for t, v in hists if (h := _histogram(t, v)) is not None]
    data.columns = _columns(kind, p.get("columns"))
    data.samples = int(p.get("samples", len(data.rows)))
    data.train = int(p.get("splits", {}).get("train", 0))
    data.skipped = int(p.get("skipped", 0))
    data.problems = [str(m) for m in p.get("problems", [])]
    return data


def status_line(spec: DatasetSpec, samples: int, noun: str, train: int, what: str) -> str:
    """One line for the panel's status, like a loaded bundle's ``describe()``: the set,
    its ``samples`` (``noun``), how many go to training, and ``what`` they are."""
    return (f"{spec.describe()}: {samples:,} {noun} ({train:,} train / "
            f"{samples - train:,} val and test), {what}")


def describe(spec: DatasetSpec, data: TextData, train: int) -> str:
    """The status line of text data."""
    what = (f"{len(data.counts)} classes" if data.kind == "texts" else "source → target pairs")
    return status_line(spec, data.samples, "texts", train, what)


def load(spec: DatasetSpec) -> tuple[TextData, int]:
    """What the panel shows of ``spec`` and the size of its train split (worker thread)."""
    data = read(spec)
    return data, data.train
