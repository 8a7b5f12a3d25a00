"""The learning-rate schedule, per step, in plain Python (no torch).

It is computed here rather than with torch.optim.lr_scheduler so that its whole state is a
few JSON numbers (exact resume) and warm-up composes with every schedule:
``lr(step) = lr * warmup(step) * schedule(step) * plateau_factor``, applied every step.
The editor draws the schedule's preview with this same class, without importing torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from engine.project import TrainingConfig


class LRSchedule:
    """Per-step learning rate for ``cfg`` over ``total_steps`` (``steps_per_epoch`` each)."""

    def __init__(self, cfg: TrainingConfig, steps_per_epoch: int, total_steps: int) -> None:
        self.cfg = cfg
        self.spe = max(1, steps_per_epoch)
        self.total = max(1, total_steps)
        self.warmup = int(round(cfg.warmup_epochs * self.spe))
        self.factor = 1.0  # reduce-on-plateau multiplier
        self.best: float | None = None
        self.bad_epochs = 0

    def lr_at(self, step: int) -> float:
        """Learning rate for the update that takes global step ``step`` (0-based)."""
        cfg = self.cfg
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup > 0 else 1.0
        t = min(1.0, step / self.total)
        kind = cfg.schedule
        if kind == "step":
            mult = cfg.gamma ** (step // (cfg.step_size * self.spe))
        elif kind == "cosine":
            mult = 0.5 * (1.0 + math.cos(math.pi * t))
        elif kind == "onecycle":
            mult = _one_cycle(t)
        else:
            mult = 1.0
        return cfg.lr * warm * mult * self.factor

    def apply(self, optimizers: Iterable[Any], step: int) -> float:
        """Set the learning rate of every param group of ``optimizers`` for ``step``."""
        lr = self.lr_at(step)
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_mult", 1.0)
        return lr

    def epoch_end(self, value: float | None, mode: str) -> None:
        """Reduce-on-plateau: after ``patience`` epochs without improvement, times gamma."""
        if self.cfg.schedule != "plateau" or value is None or value != value:
            return
        better = self.best is None or (value < self.best if mode == "min" else value > self.best)
        if better:
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.cfg.patience:
            self.factor *= self.cfg.gamma
            self.bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.factor = float(state["factor"])
        self.best = state["best"]
        self.bad_epochs = int(state["bad_epochs"])


def _one_cycle(t: float, pct_start: float = 0.3, div: float = 25.0,
               final_div: float = 1e4) -> float:
    """One-cycle multiplier: cosine up from 1/div to 1, then down to 1/(div*final_div)."""
    lo, end = 1.0 / div, 1.0 / (div * final_div)
    if t < pct_start:
        u = t / pct_start
        return lo + (1.0 - lo) * 0.5 * (1.0 - math.cos(math.pi * u))
    u = (t - pct_start) / (1.0 - pct_start)
    return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * u))
