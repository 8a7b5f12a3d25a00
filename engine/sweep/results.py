"""A sweep's trials as plain records, its best trials and its Pareto front, read from the
study (so they include the trials other coordinators ran). Surplus trials (asked by a
coordinator after the study already had its N; never run) are left out everywhere."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.sweep.study import Objective

#: the run folder's record of its trial
SWEEP_FILE = "sweep.json"

# user attributes of a trial
RUN_DIR = "run_dir"
COORDINATOR = "coordinator"  # "host:pid" of the coordinator that runs it
HEARTBEAT = "heartbeat"  # time.time() of its last sign of life
MESSAGE = "message"
EPOCHS = "epochs"
SECONDS = "seconds"
INFEASIBLE = "infeasible"
SURPLUS = "surplus"
LANE = "lane"  # the lane that runs (ran) it: "local 1", or an SSH host's name


@dataclass(frozen=True)
class TrialRecord:
    """One trial: ``state`` is complete, pruned, failed, infeasible or running (or waiting
    while Optuna holds it queued); ``values`` by objective metric (empty when none)."""

    number: int
    state: str
    params: dict[str, Any] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
    run_dir: str = ""
    message: str = ""
    lane: str = ""  # where it trained: "local 1", or the SSH host's name

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["values"] = {k: (v if math.isfinite(v) else None) for k, v in self.values.items()}
        return d


def record_of(frozen: Any, objectives: list[Objective]) -> TrialRecord:
    """The record of an Optuna FrozenTrial."""
    attrs = frozen.user_attrs
    state = frozen.state.name.lower()
    if state == "fail" and attrs.get(INFEASIBLE):
        state = "infeasible"
    elif state == "fail":
        state = "failed"
    values: dict[str, float] = {}
    if frozen.values is not None:
        values = {o.metric: float(v) for o, v in zip(objectives, frozen.values, strict=False)}
    elif state == "pruned" and frozen.intermediate_values:
        last = max(frozen.intermediate_values)
        values = {objectives[0].metric: float(frozen.intermediate_values[last])}
    return TrialRecord(number=frozen.number, state=state, params=dict(frozen.params),
                       values=values, epochs=int(attrs.get(EPOCHS, 0) or 0),
                       seconds=float(attrs.get(SECONDS, 0.0) or 0.0),
                       run_dir=str(attrs.get(RUN_DIR, "")), message=str(attrs.get(MESSAGE, "")),
                       lane=str(attrs.get(LANE, "")))


def study_records(study: Any, objectives: list[Objective], trials: int) -> list[TrialRecord]:
    """Every trial of the sweep, by number; surplus trials (number >= ``trials``) left out."""
    return [record_of(t, objectives) for t in study.get_trials(deepcopy=False)
            if t.number < trials and not t.user_attrs.get(SURPLUS)]


def best(records: list[TrialRecord], objectives: list[Objective], k: int = 5) -> list[TrialRecord]:
    """The ``k`` best complete trials by the first objective."""
    first = objectives[0]
    done = [r for r in records if r.state == "complete" and first.metric in r.values
            and math.isfinite(r.values[first.metric])]
    done.sort(key=lambda r: r.values[first.metric], reverse=first.maximize)
    return done[:k]


def pareto(records: list[TrialRecord], objectives: list[Objective]) -> list[TrialRecord]:
    """The complete trials no other complete trial beats on every objective (and strictly
    on one), by the first objective."""
    done = [r for r in records if r.state == "complete"
            and all(o.metric in r.values and math.isfinite(r.values[o.metric])
                    for o in objectives)]

    def dominates(a: TrialRecord, b: TrialRecord) -> bool:
        no_worse = all(not o.better(b.values[o.metric], a.values[o.metric]) for o in objectives)
        better = any(o.better(a.values[o.metric], b.values[o.metric]) for o in objectives)
        return no_worse and better

    front = [r for r in done if not any(dominates(o, r) for o in done if o is not r)]
    front.sort(key=lambda r: r.values[objectives[0].metric], reverse=objectives[0].maximize)
    return front


def write_sweep_file(run_dir: str | Path, data: dict[str, Any]) -> None:
    """Write the run folder's sweep.json (study, trial, params, state, message, ...)."""
    from engine.project import ProjectError, atomic_write_text

    path = Path(run_dir) / SWEEP_FILE
    text = json.dumps(data, indent=2, allow_nan=False, default=str) + "\n"
    try:
        atomic_write_text(path, text)
    except (OSError, ProjectError):
        pass  # the study holds the same facts; a run folder that cannot be written fails anyway


def read_sweep_file(run_dir: str | Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(run_dir) / SWEEP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
