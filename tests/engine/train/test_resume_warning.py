"""A resumed run does not repeat the divergence warning its first part already gave."""

from __future__ import annotations

from typing import Any

from engine.train import Control, train
from engine.train.events import EpochEnded, Event, Finished, Progress, Stopped, Warning
from tests.engine.train.helpers import tiny_mlp


def _divergence(events: list[Event]) -> list[str]:
    return [e.message for e in events if isinstance(e, Warning) and e.kind == "divergence"]


def _course(events: list[Event]) -> list[tuple[Any, ...]]:
    """What a run did, without timings and without what a stop and a resume add."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, Progress):
            out.append(("progress", e.epoch, e.step, e.losses, e.lr))
        elif isinstance(e, Warning):
            out.append(("warning", e.kind, e.message))
        elif isinstance(e, EpochEnded):
            out.append(("epoch", e.epoch, e.train, e.val, e.lr))
        elif isinstance(e, Finished):
            out.append(("finished", e.metrics, e.best_epoch, e.best_value, e.epochs))
    return out


def test_a_run_resumed_after_the_divergence_warning_does_not_warn_again(tmp_path) -> None:
    # Adam at lr 5 makes the loss jump 100-fold and stay there: the warning comes once the
    # first epoch (8 steps) is over
    project = tiny_mlp(training__epochs=4, training__optimizer="adam", training__lr=5.0,
                       training__schedule="none")
    whole = list(train(project, tmp_path / "whole", progress_interval=0.0))
    assert isinstance(whole[-1], Finished) and len(_divergence(whole)) == 1
    control = Control()
    first: list[Event] = []
    for ev in train(project, tmp_path / "split", control=control, progress_interval=0.0):
        first.append(ev)
        if isinstance(ev, Progress) and ev.step == 13:  # mid epoch 2, after the warning
            control.stop()
    assert isinstance(first[-1], Stopped) and _divergence(first) == _divergence(whole)
    second = list(train(project, tmp_path / "split", resume=True, progress_interval=0.0))
    assert isinstance(second[-1], Finished)
    assert _divergence(second) == []
    assert _course(first) + _course(second) == _course(whole)
