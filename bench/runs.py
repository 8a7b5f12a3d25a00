"""One training run of a template, timed: what the quality benchmarks share."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def cpu_project(template: str, quick: bool = False, samples: int = 160, epochs: int = 2) -> Any:
    """The template ``template`` as shipped, on the CPU with the benchmark's threads; with
    ``quick`` (checking the script, figures mean nothing) ``samples`` and ``epochs``."""
    from engine.templates import load_template
    from engine.train.runtime import resolve_threads

    project = load_template(template)
    cfg = project.training
    cfg.device = "cpu"
    cfg.threads = resolve_threads(cfg.threads)
    if quick:
        project.dataset.samples, cfg.epochs = samples, epochs
    return project


def timed_run(project: Any, folder: Path) -> tuple[Any, float, float]:
    """Train ``project`` into ``folder``: the last ``epoch_ended`` event, the seconds spent
    in the epochs' training parts and the whole run's wall time. A failed run raises."""
    from engine.train import train

    train_s, last = 0.0, None
    t0 = time.perf_counter()
    for ev in train(project, folder):
        if ev.type == "failed":
            raise RuntimeError(ev.message)
        if ev.type == "epoch_ended":
            train_s += ev.seconds
            last = ev
    wall = time.perf_counter() - t0
    if last is None:
        raise RuntimeError(f"{folder.name}: no epoch finished")
    return last, train_s, wall
