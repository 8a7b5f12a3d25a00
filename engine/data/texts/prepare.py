"""From a spec to split, tokenized-ready text: read, check, split, train the tokenizer.

:func:`prepare` is shared by loading (tensors), the data facts (the vocabulary) and the
dataset panel (summary, preview), and keeps its last results keyed by the spec and the
files' sizes and modification times, so an edit in the editor does not re-read a large
file or re-train its tokenizer.

The split is computed here without torch (``random.Random(split_seed)``), with the sizes
:func:`engine.data.core.split_indices` gives (each non-zero fraction at least one sample),
so the editor's facts agree with the loaded data without importing torch.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data import limits
from engine.data.paths import beside
from engine.data.problems import Problems
from engine.data.texts import folders, generate, tables
from engine.data.texts.records import TextSet, data_error
from engine.data.texts.tokenizer import TextTokenizer
from engine.project import DatasetSpec

SPLITS = ("train", "val", "test")
_CACHE: OrderedDict[tuple[Any, ...], Prepared] = OrderedDict()
_CACHE_SIZE = 3
_LOCK = threading.Lock()


@dataclass
class Prepared:
    """A read and split text set with its trained tokenizer(s).

    ``order`` maps each split to sample indices into ``data`` (file order within a split);
    ``classes`` are the sorted label names (texts) or None (pairs)."""

    data: TextSet
    order: dict[str, list[int]]
    classes: list[str] | None
    tokenizer: TextTokenizer
    target_tokenizer: TextTokenizer | None

    def texts(self, split: str) -> list[str]:
        return [self.data.texts[i] for i in self.order[split]]

    def labels(self, split: str) -> list[str]:
        return [self.data.labels[i] for i in self.order[split]]


def kind_of(spec: DatasetSpec) -> str:
    """"texts" or "pairs" for a spec this package loads."""
    if spec.source == "builtin":
        return "texts" if spec.name == "sentiment" else "pairs"
    return spec.source


def read_set(spec: DatasetSpec) -> TextSet:
    """The samples of ``spec``, bad entries reported per ``dataset.bad_entries``."""
    problems = Problems(spec.bad_entries)
    if spec.source == "builtin":
        if spec.name not in generate.DEFAULT_SAMPLES:
            raise data_error(f"'{spec.name}' is not a built-in text data set; choose sentiment "
                             "or dates")
        return generate.generate(spec, problems)
    kind = spec.source
    if not spec.path.strip():
        raise data_error(f"{kind}: no path is set; choose a file or folder")
    path = Path(spec.path).expanduser()
    if kind == "pairs" and spec.target_path.strip():
        return folders.read_aligned(path, beside(spec, spec.target_path), spec, problems)
    if kind == "texts" and path.is_dir():
        return folders.read_class_folders(path, spec, problems)
    if path.is_dir():
        raise data_error(f"{path}: is a folder; pairs come from a .tsv, .csv or .jsonl file of "
                         "source and target columns, or from two aligned text files (set the "
                         "target side's file)")
    return tables.read_table(path, spec, kind, problems)


def split_order(n: int, val_fraction: float, test_fraction: float, seed: int,
                what: str) -> dict[str, list[int]]:
    """Disjoint sorted sample indices per split, deterministic for the seed."""
    n_val, n_test = _part(n, val_fraction), _part(n, test_fraction)
    if n - n_val - n_test < 1:
        raise data_error(
            f"{what}: {n} samples are too few for a validation fraction of {val_fraction:g} "
            f"and a test fraction of {test_fraction:g}; nothing would be left for training")
    perm = list(range(n))
    random.Random(seed).shuffle(perm)
    return {"val": sorted(perm[:n_val]), "test": sorted(perm[n_val:n_val + n_test]),
            "train": sorted(perm[n_val + n_test:])}


def _part(n: int, fraction: float) -> int:
    if fraction <= 0 or n == 0:
        return 0
    return max(1, int(round(n * fraction)))


def _classes(data: TextSet) -> list[str]:
    classes = sorted(set(data.labels))
    if len(classes) > limits.MAX_CLASSES:
        raise data_error(f"{data.source}: the labels take {len(classes):,} different values; "
                         f"LayerForge takes at most {limits.MAX_CLASSES:,} classes; is the "
                         f"label column (dataset.target) the right one?")
    if len(classes) < 2:
        only = f"one class, '{classes[0]}'" if classes else "no classes"
        raise data_error(f"{data.source}: found {only}; a classifier needs at least two; "
                         "check the label column (dataset.target)")
    return classes


def _tokenizer(spec: DatasetSpec, texts: list[str]) -> TextTokenizer:
    return TextTokenizer.train(texts, spec.tokenizer, spec.vocab_size, spec.lowercase)


def build(spec: DatasetSpec, data: TextSet, progress: Any = None,
          given: dict[str, str] | None = None) -> Prepared:
    """Split ``data``, and train the tokenizer(s) on the training split unless ``given``
    (a run's saved JSON: ``{"tokenizer": ..., "target_tokenizer": ...}``)."""
    if not data.texts:
        skipped = data.problems.skipped
        why = f" ({skipped:,} bad entries were skipped)" if skipped else ""
        raise data_error(f"{data.source}: found no samples{why}")
    order = split_order(len(data), spec.val_fraction, spec.test_fraction, spec.split_seed,
                        data.source)
    classes = _classes(data) if data.kind == "texts" else None
    train_src = [data.texts[i] for i in order["train"]]
    if progress is not None:
        progress("Training the tokenizer", 0, 1)
    if given and given.get("tokenizer"):
        tok = _given(given["tokenizer"], "tokenizer")
        target_json = given.get("target_tokenizer")
        target = _given(target_json, "target_tokenizer") if target_json else tok
    else:
        if data.kind == "pairs" and spec.shared_vocab:
            train_src = train_src + [data.labels[i] for i in order["train"]]
        tok = _tokenizer(spec, train_src)
        target = tok
        if data.kind == "pairs" and not spec.shared_vocab:
            target = _tokenizer(spec, [data.labels[i] for i in order["train"]])
    if progress is not None:
        progress("Training the tokenizer", 1, 1)
    return Prepared(data, order, classes, tok, target if data.kind == "pairs" else None)


def _given(text: str, name: str) -> TextTokenizer:
    try:
        return TextTokenizer.from_json(text)
    except Exception as e:  # any malformed JSON: the run's files were damaged or edited
        raise data_error(f"the run's saved {name} cannot be read ({str(e)[:200]}); train a new "
                         "run, or restore the run's data.json") from None


def _stamp(spec: DatasetSpec) -> tuple[Any, ...]:
    """Sizes and modification times of the files ``spec`` reads (changes re-read them)."""
    if spec.source == "builtin":
        return ()
    out = []
    for p in (spec.path, spec.target_path):
        if not p.strip():
            continue
        path = beside(spec, p)
        try:
            if path.is_dir():
                for dirpath, _, files in sorted(os.walk(path)):
                    for f in sorted(files):
                        st = Path(dirpath, f).stat()
                        out.append((dirpath, f, st.st_mtime_ns, st.st_size))
            else:
                st = path.stat()
                out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), None))
    return tuple(out)


def prepare(spec: DatasetSpec, progress: Any = None) -> Prepared:
    """:func:`build` of :func:`read_set`, kept for the same spec and unchanged files."""
    key = (spec.model_dump_json(exclude={"seq_len", "target_len"}), _stamp(spec))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    if progress is not None:
        progress("Reading texts", 0, 1)
    prepared = build(spec, read_set(spec), progress)
    with _LOCK:
        _CACHE[key] = prepared
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return prepared


def length_histogram(lengths: list[int], bins: int = 20) -> dict[str, list[int]]:
    """Counts of token lengths in up to ``bins`` equal whole-number bins: ``bins`` holds
    the edges (one more than ``counts``); bin k is edges[k] <= length < edges[k+1]."""
    if not lengths:
        return {"bins": [0, 1], "counts": [0]}
    top = max(lengths) + 1
    width = max(1, -(-top // bins))
    edges = list(range(0, top + width, width))
    counts = [0] * (len(edges) - 1)
    for n in lengths:
        counts[n // width] += 1
    return {"bins": edges, "counts": counts}


def summary_of(prepared: Prepared, spec: DatasetSpec, lengths: list[int] | None = None,
               target_lengths: list[int] | None = None) -> dict[str, Any]:
    """The import summary the dataset panel shows and ``bundle.summary`` holds. ``lengths``
    and ``target_lengths``: every sample's token counts (targets with BOS and EOS), in any
    order, when the caller has them already."""
    data = prepared.data
    if lengths is None:
        lengths = prepared.tokenizer.lengths(data.texts)
    out: dict[str, Any] = {
        "kind": data.kind,
        "source": data.source,
        "samples": len(data),
        "splits": {s: len(prepared.order[s]) for s in SPLITS},
        "columns": data.columns,
        "tokenizer": prepared.tokenizer.kind,
        "vocab_size": prepared.tokenizer.vocab_size,
        "lengths": length_histogram(lengths),
        "longest": max(lengths, default=0),
        "truncated": sum(n > spec.seq_len for n in lengths),
        "skipped": data.problems.skipped,
        "problems": list(data.problems.shown),
    }
    if data.kind == "texts":
        counts = Counter(data.labels)
        out["classes"] = prepared.classes
        out["label_counts"] = {c: counts[c] for c in prepared.classes or []}
    else:
        target = prepared.target_tokenizer or prepared.tokenizer
        tlen = target_lengths
        if tlen is None:
            tlen = [n + 2 for n in target.lengths(data.labels)]
        out["target_vocab_size"] = target.vocab_size
        out["shared_vocab"] = target is prepared.tokenizer
        out["target_lengths"] = length_histogram(tlen)
        out["target_longest"] = max(tlen, default=0)
        out["target_truncated"] = sum(n > spec.target_len for n in tlen)
    return out
