"""Optimizers, schedules and progress throttling."""

from __future__ import annotations

import pytest
import torch

from engine.project import TrainingConfig
from engine.train.figures import Throttle
from engine.train.optim import LRSchedule, build_optimizer


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_each_optimizer_builds_and_steps(name: str) -> None:
    cfg = TrainingConfig(optimizer=name, lr=0.1, nesterov=True, weight_decay=0.01)
    w = torch.nn.Parameter(torch.ones(3))
    opt = build_optimizer(cfg, [w], torch.device("cpu"))
    (w ** 2).sum().backward()
    opt.step()
    assert (w < 1).all()


def _lrs(schedule: str, **kw) -> list[float]:
    cfg = TrainingConfig(lr=1.0, schedule=schedule, **kw)
    s = LRSchedule(cfg, steps_per_epoch=10, total_steps=100)
    return [s.lr_at(i) for i in range(100)]


def test_step_schedule_decays_every_step_size_epochs() -> None:
    lrs = _lrs("step", step_size=3, gamma=0.5)
    assert lrs[29] == 1.0 and lrs[30] == 0.5 and lrs[60] == 0.25


def test_cosine_schedule_falls_from_lr_to_near_zero() -> None:
    lrs = _lrs("cosine")
    assert lrs[0] == 1.0 and lrs[50] == pytest.approx(0.5) and lrs[-1] < 0.01
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_onecycle_peaks_at_thirty_percent() -> None:
    lrs = _lrs("onecycle")
    assert lrs.index(max(lrs)) == 30 and lrs[0] == pytest.approx(0.04) and lrs[-1] < 1e-3


def test_warmup_rises_linearly_per_step() -> None:
    lrs = _lrs("none", warmup_epochs=1)
    assert lrs[0] == pytest.approx(0.1) and lrs[4] == pytest.approx(0.5) and lrs[9:] == [1.0] * 91


def test_plateau_reduces_after_patience_epochs_without_improvement() -> None:
    s = LRSchedule(TrainingConfig(lr=1.0, schedule="plateau", patience=2, gamma=0.1), 10, 100)
    for v in (1.0, 0.9, 0.95, 0.95):
        s.epoch_end(v, "min")
    assert s.lr_at(50) == pytest.approx(0.1)


def test_throttle_lets_through_at_most_one_per_interval() -> None:
    now = [0.0]
    t = Throttle(0.05, clock=lambda: now[0])
    passed = 0
    for _ in range(1000):  # one simulated second in 1 ms steps
        now[0] += 0.001
        passed += t.ready()
    assert 19 <= passed <= 21
