"""The run directory: project snapshot, events.jsonl, metrics.csv, checkpoints/, weights,
evaluation.json, data.json (how inputs were prepared: normalisation, classes) and samples/.
One folder per run; everything in it is plain data."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from engine.errors import RunTimeError, os_reason
from engine.project import (
    Project,
    ProjectError,
    atomic_write_bytes,
    atomic_write_text,
    load_project,
)
from engine.train import runlock
from engine.train.events import Event, Failed, Sample

SNAPSHOT = "project.lforge"
EVENTS = "events.jsonl"
METRICS = "metrics.csv"
WEIGHTS = "weights.safetensors"
EVALUATION = "evaluation.json"
DATA_INFO = "data.json"
CHECKPOINTS = "checkpoints"
DATA_INFO_VERSION = 1


class RunDir:
    """Paths and writers of one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def snapshot(self) -> Path:
        return self.path / SNAPSHOT

    @property
    def events(self) -> Path:
        return self.path / EVENTS

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS

    @property
    def evaluation(self) -> Path:
        return self.path / EVALUATION

    @property
    def data_info(self) -> Path:
        return self.path / DATA_INFO

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    def lock(self, what: str = runlock.WRITER) -> AbstractContextManager[None]:
        """Hold this run folder's writer lock for a ``with`` block (see
        :mod:`engine.train.runlock`); raises RunBusy naming the process that holds it."""
        return runlock.hold_run(self.path, what)

    def checkpoint(self, kind: str = "last") -> Path:
        return self.path / CHECKPOINTS / f"{kind}.safetensors"

    def create(self) -> None:
        try:
            (self.path / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
            self.samples.mkdir(exist_ok=True)
        except OSError as e:
            raise ProjectError(f"{self.path}: cannot create the run folder ({os_reason(e)})") from None

    def load_project(self) -> Project:
        if not self.path.is_dir():
            raise ProjectError(f"{self.path}: no such run folder")
        if not self.snapshot.is_file():
            raise ProjectError(f"{self.path}: not a run folder (no {SNAPSHOT} in it)")
        return load_project(self.snapshot)

    def write_snapshot(self, project: Project) -> None:
        atomic_write_text(self.snapshot, project.to_json())

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        """Rewrite metrics.csv from the per-epoch rows (so a resumed run has no stale rows)."""
        cols: list[str] = []
        for row in history:
            cols += [k for k in row if k not in cols]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for row in history:
            w.writerow({k: row.get(k, "") for k in cols})
        atomic_write_text(self.path / METRICS, buf.getvalue())

    def write_evaluation(self, results: dict[str, Any]) -> None:
        atomic_write_text(self.evaluation, json.dumps(results, indent=2) + "\n")

    def write_data_info(self, info: dict[str, Any]) -> None:
        """Write data.json: how the inputs were prepared (see :func:`data_info`)."""
        atomic_write_text(self.data_info, json.dumps(info, indent=2, ensure_ascii=False) + "\n")

    def save_sample(self, ev: Sample) -> Path:
        self.samples.mkdir(parents=True, exist_ok=True)
        if ev.kind == "image":
            path = self.samples / f"epoch{ev.epoch:04d}.png"
            atomic_write_bytes(path, base64.b64decode(ev.png_base64))
        else:
            path = self.samples / f"epoch{ev.epoch:04d}.txt"
            atomic_write_text(path, ev.text)
        return path

    def last_seq(self) -> int:
        """The highest seq already in events.jsonl (0 when none), so a resume continues it."""
        if not self.events.is_file():
            return 0
        last = 0
        with self.events.open("rb") as f:
            for line in f:
                try:
                    last = max(last, int(json.loads(line).get("seq", 0)))
                except (ValueError, AttributeError):
                    continue
        return last


def data_info(bundle: Any, spec: Any | None = None) -> dict[str, Any]:
    """How a run's inputs were prepared, as plain JSON, for data.json and every export.

    ``mean``/``std`` are the normalisation computed on the train split (None when
    ``dataset.normalize`` is off): subtract ``mean`` and divide by ``std`` per channel
    (``normalize_axis`` "channel": dim 1 of [N, C, H, W]) for images, per feature (the
    last dim) otherwise. ``classes`` are the class names in output order (classification),
    ``vocab`` the characters in token-id order (text). ``bundle`` is an
    :class:`engine.data.DataBundle`, ``spec`` the :class:`engine.project.DatasetSpec`.
    """
    kind = bundle.kind
    info: dict[str, Any] = {
        "version": DATA_INFO_VERSION,
        "source": bundle.source,
        "kind": kind,
        "input_shape": list(bundle.input_shape),
        "input_dtype": bundle.input_dtype,
        "target": bundle.target,
        "normalize_axis": "channel" if kind == "image" else "feature",
        "mean": None if bundle.mean is None else [float(v) for v in bundle.mean],
        "std": None if bundle.std is None else [float(v) for v in bundle.std],
        "classes": None if not bundle.classes else [str(c) for c in bundle.classes],
        "vocab": None if not bundle.vocab else list(bundle.vocab),
        # fixed: a pretrained backbone's statistics; train: computed on the train split
        "normalization": ("fixed" if spec is not None and spec.mean is not None
                          else "train" if bundle.mean is not None else "none"),
    }
    # language and speech: what turns text into ids and back, and the clips' rate; a
    # tokenizer is Hugging Face tokenizers' JSON, so an export takes the same text
    if getattr(bundle, "tokenizer", None) is not None:
        info["tokenizer"] = bundle.tokenizer.to_json()
        target = getattr(bundle, "target_tokenizer", None)
        if target is not None and target is not bundle.tokenizer:
            info["target_tokenizer"] = target.to_json()
    if getattr(bundle, "target_vocab", None):
        info["target_vocab"] = list(bundle.target_vocab)
    if getattr(bundle, "sample_rate", None):
        info["sample_rate"] = int(bundle.sample_rate)
    # rows of numbers: the names of their columns (and of a regression's target) when
    # the data name them, so "Try it" labels its fields; optional, old runs lack them
    from engine.train.predict_facts import recorded_names

    info.update(recorded_names(spec, bundle))
    if kind == "image":
        info["pixel_range"] = [0.0, 1.0]  # 8-bit pixels divided by 255, before normalising
        if spec is not None:
            info["image_size"] = spec.image_size
            info["grayscale"] = bool(spec.grayscale)
    return info


def flat_metrics(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The scalar entries of a metrics dict, as ``prefix_name``."""
    return {f"{prefix}_{k}": v for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def record(events: Iterable[Event], run: RunDir, out: TextIO | None = None) -> Iterator[Event]:
    """Number events (seq contiguous, continuing events.jsonl), append each to events.jsonl,
    save samples, and optionally echo each JSON line to ``out``; yield them on.

    The run folder is locked first (see :mod:`engine.train.runlock`). When another process
    holds it, one Failed event naming that process is echoed and yielded (seq 0), nothing
    is written to the folder and ``events`` is never started."""
    try:
        key = runlock.acquire(run.path)
    except RunTimeError as e:
        refused = Failed(message=str(e))
        if out is not None:
            out.write(refused.to_json() + "\n")
            out.flush()
        close = getattr(events, "close", None)
        if close is not None:
            close()
        yield refused
        return
    try:
        seq = run.last_seq()
        with run.events.open("a", encoding="utf-8") as log:
            for ev in events:
                seq += 1
                ev = replace(ev, seq=seq)
                line = ev.to_json()
                log.write(line + "\n")
                log.flush()
                if out is not None:
                    out.write(line + "\n")
                    out.flush()
                if isinstance(ev, Sample):
                    run.save_sample(ev)
                yield ev
    finally:
        runlock.release(key)


def saved_tokenizers(run: RunDir) -> dict[str, str] | None:
    """The tokenizers a run trained with (data.json's), for ``load_dataset(tokenizers=)``;
    None when the run has none or no data.json."""
    try:
        info = json.loads(run.data_info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    found = {k: info[k] for k in ("tokenizer", "target_tokenizer") if isinstance(info.get(k), str)}
    return found or None
