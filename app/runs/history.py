"""What a run folder says about its run: its curves and a one-line summary.

Both are read from ``events.jsonl`` (the same events the live plots got) and the project
snapshot, so a run looks the same in the list and in the plots after a restart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Events are read as plain records (``ev.type`` plus the fields): importing
# engine.train.events would load torch (engine.train's package imports the loop).
Event = Any

#: Preferred headline metric per task, first one present wins.
METRIC_ORDER = ("accuracy", "perplexity", "rmse", "mse", "mae", "r2", "g_loss", "d_loss")
LOWER_IS_BETTER = {"loss", "perplexity", "rmse", "mse", "mae", "g_loss", "d_loss"}


def headline_metric(metrics: dict[str, Any]) -> str | None:
    """The task's metric in an epoch's metrics (accuracy, perplexity, RMSE...)."""
    for name in METRIC_ORDER:
        if _scalar(metrics.get(name)) is not None:
            return name
    return None


def _scalar(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


@dataclass
class RunHistory:
    """The curves of one run: step losses, per-epoch validation figures and learning rate."""

    steps: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lr_steps: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    epoch_steps: list[float] = field(default_factory=list)  # global step at each epoch end
    val_loss: list[float] = field(default_factory=list)
    metric: str | None = None
    metric_values: list[float] = field(default_factory=list)
    metric_steps: list[float] = field(default_factory=list)

    def add(self, ev: Event) -> None:
        if ev.type == "progress":
            n = len(ev.losses)
            first = ev.step - n + 1
            self.steps.extend(float(first + i) for i in range(n))
            self.losses.extend(math.nan if v is None else float(v) for v in ev.losses)
            self.lr_steps.append(float(ev.step))
            self.lrs.append(float(ev.lr))
        elif ev.type == "epoch_ended":
            x = self.steps[-1] if self.steps else float(ev.epoch)
            val = ev.val or ev.train
            loss = _scalar(val.get("loss"))
            if loss is not None:
                self.epoch_steps.append(x)
                self.val_loss.append(loss)
            if self.metric is None:
                self.metric = headline_metric(val)
            value = _scalar(val.get(self.metric)) if self.metric else None
            if value is not None:
                self.metric_steps.append(x)
                self.metric_values.append(value)


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


_DEFAULTS: dict[str, dict[str, Any]] = {
    "progress": {"losses": [], "step": 0, "lr": 0.0},
    "epoch_ended": {"train": {}, "val": {}, "seconds": 0.0, "epoch": 0},
    "stopped": {"step": 0},
    "failed": {"message": ""},
}


def read_events(run_dir: str | Path) -> list[Event]:
    """Every decodable event of a run, in order (a torn last line is skipped)."""
    path = Path(run_dir) / "events.jsonl"
    out: list[Event] = []
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    d = json.loads(line)
                except ValueError:
                    continue  # a torn last line
                if isinstance(d, dict) and isinstance(d.get("type"), str):
                    out.append(SimpleNamespace(**{**_DEFAULTS.get(d["type"], {}), **d}))
    except OSError:
        pass
    return out


def load_history(run_dir: str | Path) -> RunHistory:
    h = RunHistory()
    for ev in read_events(run_dir):
        h.add(ev)
    return h


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
    events = read_events(path)
    s.host = _remote_host(path)
    if s.host and events:
        s.status = "detached"  # until a terminal event is mirrored: it may still run there
    best: tuple[str, float] | None = None
    metric: str | None = None
    for ev in events:
        if ev.type == "run_started":
            s.status = "detached" if s.host else "interrupted"
            s.message = f"runs on {s.host}; Attach follows it" if s.host else ""
        elif ev.type == "epoch_ended":
            s.seconds += ev.seconds
            s.epochs = ev.epoch
            val = ev.val or ev.train
            metric = metric or headline_metric(val) or "loss"
            v = _scalar(val.get(metric))
            if v is not None and math.isfinite(v):
                lower = metric in LOWER_IS_BETTER
                if best is None or (v < best[1] if lower else v > best[1]):
                    best = (metric, v)
        elif ev.type == "finished":
            s.status = "finished"
        elif ev.type == "stopped":
            s.status, s.message = "stopped", f"stopped at step {ev.step}"
        elif ev.type == "failed":
            s.status, s.message = "failed", ev.message
    if best is not None:
        s.best = f"{best[0]} {best[1]:.4g}"
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
