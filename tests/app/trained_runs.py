"""Tiny real runs for the app tests, trained in-process by the engine (the panels that
show a run read what training really leaves in its folder): a project trained to the
end, a template trained for a few epochs, and the corpus a character model learns.
The tests train each run once, in a module- or session-scoped fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the charlstm template samples from "def " while it trains: the corpus holds those
#: characters
CORPUS = "def add(a, b):\n    return a + b\n\nclass Point:\n    x = 0\n    y = 0\n\n" * 30


def train_run(project, run_dir: Path) -> Path:
    """Train ``project`` into ``run_dir`` as the app does (data loaded, fitted, events
    recorded) and check that it finished."""
    from engine.data import load_dataset
    from engine.train import RunDir, fit_project, record, train
    from engine.train.events import Finished

    bundle = load_dataset(project.dataset)
    fit_project(project, bundle)
    events = list(record(train(project, run_dir, bundle=bundle), RunDir(run_dir)))
    last = events[-1]
    assert isinstance(last, Finished), last
    return run_dir


def train_template(template: str, run_dir: Path, /, epochs: int, **dataset: Any) -> Path:
    """The template named ``template`` trained for ``epochs`` on one thread, with
    ``dataset``'s fields changed (``samples=300``: a smaller data set; ``name`` too)."""
    from engine.templates import load_template

    p = load_template(template)
    if dataset:
        p.dataset = p.dataset.model_copy(update=dataset)
    p.training = p.training.model_copy(update={"epochs": epochs, "threads": 1})
    return train_run(p, run_dir)


def train_lm(corpus: Path, run_dir: Path) -> Path:
    """charlstm on the text file ``corpus`` (windows of 16), one epoch."""
    from engine.project import DatasetSpec
    from engine.templates import load_template

    p = load_template("charlstm")
    p.dataset = DatasetSpec(source="text", path=str(corpus), seq_len=16, val_fraction=0.1)
    p.training = p.training.model_copy(update={"epochs": 1, "threads": 1})
    return train_run(p, run_dir)
