"""What a run folder says about its run: its curves and a one-line summary.

``RunHistory`` is the one reduction of training events into curves: the plots panel feeds
it the live run's events as they arrive, and ``load_history`` feeds it a run folder's
``events.jsonl`` (decoded by the engine's ``read_events``), so a run looks the same live,
as an overlay and after a restart. ``summarize`` reads the Runs list's row from the same
events and the project snapshot.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.runs.privacy import PrivacyTrack
from app.runs.series import Ema, GrowingBuffer
from app.runs.slurm_runs import add_slurm_status, index_stamp
from engine.train.events import (
    EpochEnded,
    Event,
    Failed,
    Finished,
    Privacy,
    Progress,
    RunStarted,
    Stopped,
    read_events,
)

#: Preferred headline metric per task, first one present wins.
METRIC_ORDER = ("miou", "map50", "accuracy", "exact_match", "bleu", "cer", "wer", "perplexity",
                "rmse", "mse", "mae", "r2", "g_loss", "d_loss", "pixel_accuracy")
LOWER_IS_BETTER = {"loss", "perplexity", "rmse", "mse", "mae", "g_loss", "d_loss", "cer", "wer"}

#: the curves of a run: every step's loss, its moving average, the validation loss and the
#: headline metric per epoch (at the step the epoch ended), the learning rate per report
SERIES = ("loss", "loss_ema", "val_loss", "metric", "lr")
_ALL = frozenset(SERIES)
_STEP = frozenset({"loss", "loss_ema", "lr"})
_NONE: frozenset[str] = frozenset()
#: a training figure named so is a part of the loss (loss_ce, loss_dice, loss_heatmap...):
#: drawn per epoch beside the loss (RunHistory.parts)
PART_PREFIX = "loss_"


def is_loss_part(name: str) -> bool:
    """Whether an epoch's training figure ``name`` is a part of the loss."""
    return name.startswith(PART_PREFIX) and name not in _ALL


def headline_metric(metrics: dict[str, Any]) -> str | None:
    """The task's metric in an epoch's metrics (accuracy, perplexity, RMSE...): the first
    of METRIC_ORDER with a finite value."""
    for name in METRIC_ORDER:
        if _finite(metrics.get(name)) is not None:
            return name
    return None


def _finite(v: Any) -> float | None:
    """A finite real number as a float, else None. A run folder writes a non-finite epoch
    figure as null, so a live NaN is treated as the folder's null: both read the same."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


class RunHistory:
    """The curves of one run (see SERIES), each a GrowingBuffer with running bounds, and
    ``metric``, the name of the headline metric once an epoch reported one. ``parts`` has
    a curve per loss part the task reports in its training figures (``loss_*``), one
    point per epoch like the validation loss; ``add`` names a changed part by its name.

    ``add`` takes every event and ignores those that draw nothing. A ``run_started`` that
    is not a resume (``resumed_from`` 0) starts the curves over; a resumed run continues
    them, its moving average included. A step loss that is not finite is kept as a NaN
    point (a gap), and the average carries over it.
    """

    def __init__(self) -> None:
        self.buffers = {key: GrowingBuffer() for key in SERIES}
        self.parts: dict[str, GrowingBuffer] = {}
        self.metric: str | None = None
        self.privacy = PrivacyTrack()  # a private run's epsilon spent
        self._ema = Ema()
        self._last_step: float | None = None  # the step of the latest loss

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> RunHistory:
        h = cls()
        for ev in events:
            h.add(ev)
        return h

    def add(self, ev: Event) -> frozenset[str]:
        """Reduce one event; returns the keys of the series it changed."""
        match ev:
            case RunStarted(resumed_from=0):
                self.clear()
                self.privacy.add(ev)
                return _ALL
            case RunStarted() | Privacy():
                self.privacy.add(ev)
            case Progress(step=step, losses=losses, lr=lr) if losses:
                n = len(losses)
                xs = np.arange(step - n + 1, step + 1, dtype=float)
                ys = np.asarray(losses, dtype=float)  # a None (JSON's NaN) becomes NaN
                self.buffers["loss"].extend(xs, ys)
                self.buffers["loss_ema"].extend(xs, self._ema.extend(ys))
                self.buffers["lr"].extend((step,), (lr,))  # a null lr (JSON's NaN): NaN
                self._last_step = float(step)
                return _STEP
            case EpochEnded(epoch=epoch, train=train, val=val):
                return self._epoch_ended(epoch, val or train, train)
        return _NONE

    def _epoch_ended(self, epoch: int, figures: dict[str, Any],
                     train: dict[str, Any]) -> frozenset[str]:
        x = self._last_step if self._last_step is not None else float(epoch)
        changed = set()
        for name, v in train.items():
            value = _finite(v) if is_loss_part(name) else None
            if value is not None:
                self.parts.setdefault(name, GrowingBuffer(capacity=64)).extend((x,), (value,))
                changed.add(name)
        loss = _finite(figures.get("loss"))
        if loss is not None:
            self.buffers["val_loss"].extend((x,), (loss,))
            changed.add("val_loss")
        if self.metric is None:
            self.metric = headline_metric(figures)
        value = _finite(figures.get(self.metric)) if self.metric else None
        if value is not None:
            self.buffers["metric"].extend((x,), (value,))
            changed.add("metric")
        return frozenset(changed)

    def clear(self) -> None:
        for b in self.buffers.values():
            b.clear()
        self.parts.clear()
        self.metric = None
        self.privacy.clear()
        self._ema.reset()
        self._last_step = None

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The points of one curve, a SERIES key or a part's name (views: copy them to keep
        them past a ``clear``)."""
        b = self.buffers[key] if key in self.buffers else self.parts[key]
        return b.x, b.y


@dataclass
class RunSummary:
    run_dir: str
    name: str
    status: str = "unknown"  # running, finished, stopped, failed, interrupted, detached, unknown
    settings: str = ""
    best: str = ""
    seconds: float = 0.0
    epochs: int = 0
    message: str = ""
    host: str = ""  # the SSH host of a remote run ("" for a local one)


def load_history(run_dir: str | Path) -> RunHistory:
    """The curves of a run folder, read from its ``events.jsonl``."""
    return RunHistory.from_events(read_events(Path(run_dir) / "events.jsonl"))


#: the files a summary is read from; it is read again only when one of them changed
_SOURCES = ("events.jsonl", "project.lforge", "remote.json")
_summaries: dict[str, tuple[tuple, RunSummary]] = {}


def _stamp(path: Path) -> tuple:
    out = []
    for name in _SOURCES:
        try:
            st = (path / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    if out[_SOURCES.index("remote.json")] is not None:  # a Slurm job's status: runs index
        out.append(index_stamp())
    return (path.is_dir(), *out)


def summarize(run_dir: str | Path) -> RunSummary:
    """The Runs list's row for a run folder. Remembered per folder until its events,
    snapshot or remote record change, so refreshing the list re-reads only what moved."""
    path = Path(run_dir)
    stamp = _stamp(path)
    known = _summaries.get(str(path))
    if known is None or known[0] != stamp:
        known = (stamp, _summarize(path))
        _summaries[str(path)] = known
    return replace(known[1])


def _summarize(path: Path) -> RunSummary:
    s = RunSummary(run_dir=str(path), name=path.name)
    s.settings = _settings(path)
    if not s.settings and (path / "remote.json").is_file():
        s.settings = f"on {_remote_host(path)} (settings arrive with the artifacts)"
    if not path.is_dir():
        s.status, s.message = "missing", "the run folder is gone"
        return s
    events = read_events(path / "events.jsonl")
    s.host = _remote_host(path)
    if s.host and events:
        s.status = "detached"  # until a terminal event is mirrored: it may still run there
    best: tuple[str, float] | None = None
    metric: str | None = None
    for ev in events:
        match ev:
            case RunStarted():
                s.status = "detached" if s.host else "interrupted"
                s.message = f"runs on {s.host}; Attach follows it" if s.host else ""
            case EpochEnded(epoch=epoch, seconds=seconds, train=train, val=val):
                s.seconds += seconds
                s.epochs = epoch
                figures = val or train
                metric = metric or headline_metric(figures) or "loss"
                v = _finite(figures.get(metric))
                if v is not None:
                    lower = metric in LOWER_IS_BETTER
                    if best is None or (v < best[1] if lower else v > best[1]):
                        best = (metric, v)
            case Finished():
                s.status = "finished"
            case Stopped(step=step):
                s.status, s.message = "stopped", f"stopped at step {step}"
            case Failed(message=message):
                s.status, s.message = "failed", message
    if best is not None:
        s.best = f"{best[0]} {best[1]:.4g}"
    add_slurm_status(path, s)  # a Slurm job: queued with its reason, or why it failed
    return s


def _remote_host(path: Path) -> str:
    try:
        return str(json.loads((path / "remote.json").read_text(encoding="utf-8"))["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _settings(path: Path) -> str:
    try:
        data = json.loads((path / "project.lforge").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    t, d = data.get("training", {}), data.get("dataset", {})
    src = d.get("name") or Path(d.get("path") or "").name or d.get("source", "")
    return (f"{t.get('optimizer', '?')} lr {t.get('lr', '?')} · batch {t.get('batch_size', '?')}"
            f" · {t.get('epochs', '?')} epochs · {src}")
