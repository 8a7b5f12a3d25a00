"""Small sweeps for the tests: the spirals MLP on a few hundred points, real workers."""

from __future__ import annotations

import json
from pathlib import Path

from engine.project import Project
from engine.sweep.coordinator import Coordinator, SweepConfig
from engine.sweep.space import parse_param
from engine.sweep.study import Objective, default_storage
from engine.templates import load_template
from engine.train.events import read_events
from engine.train.overrides import apply_overrides

ACCURACY = Objective("val_accuracy", True)


def spirals(samples: int = 300, epochs: int = 3, **settings) -> Project:
    values = {"dataset.samples": samples, "training.epochs": epochs, "training.threads": 1,
              "training.device": "cpu", "training.schedule": "none"}
    values.update(settings)
    return apply_overrides(load_template("mlp"), values)


def coordinator(project: Project, runs: Path, params: list[str], trials: int, *,
                name: str = "s", sampler: str = "tpe", pruner: str = "none",
                objectives: list[Objective] | None = None, seed: int = 0,
                listener=None) -> Coordinator:
    config = SweepConfig(name=name, trials=trials, space=dict(parse_param(p) for p in params),
                         objectives=objectives or [ACCURACY],
                         storage=default_storage(runs, name), runs_folder=runs,
                         sampler=sampler, pruner=pruner, seed=seed)
    return Coordinator(project, config, listener)


def starts(run_dir: str | Path) -> list:
    """The RunStarted events of a run folder (one per time it was trained)."""
    return [e for e in read_events(Path(run_dir) / "events.jsonl") if e.type == "run_started"]


def sweep_file(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "sweep.json").read_text())
