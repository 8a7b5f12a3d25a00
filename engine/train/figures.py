"""The training figures of the epoch in progress (loss, accuracy, ...), as the run loop
gathers them: each step's figures are only kept, and folded into the epoch's weighted sums
at each report, so a step spends no tensor operation on them."""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from engine.tasks.base import Matches


class TrainFigures:
    """Each step's figures (see :meth:`engine.tasks.base.Task.train_step`) with its batch
    size, since the last fold (``window``), and per figure the epoch's sum of
    value x batch size (``sums``) and of batch sizes (``counts``)."""

    def __init__(self) -> None:
        self.window: list[tuple[dict[str, Any], int]] = []
        self.sums: dict[str, Any] = {}  # floats, or 0-d tensors not yet read
        self.counts: dict[str, float] = {}

    def start_epoch(self) -> None:
        self.sums, self.counts = {}, {}
        self.window.clear()

    def losses(self) -> list[float]:
        """The loss of each step since the last fold (one host read for all of them)."""
        return torch.stack([f["loss"] for f, _ in self.window]).float().tolist()

    def samples(self) -> int:
        """The samples of the steps since the last fold."""
        return sum(n for _, n in self.window)

    def fold(self) -> None:
        """Add the figures of the steps since the last fold to the epoch sums (one small
        device computation per key, no host sync). A figure is the batch's mean, or
        :class:`~engine.tasks.base.Matches` whose share is counted here for all the steps
        at once."""
        window = self.window
        if not window:
            return
        keys = dict.fromkeys(k for figures, _ in window for k in figures)
        for k in keys:
            pairs = [(figures[k], n) for figures, n in window if k in figures]
            vals = [v for v, _ in pairs]
            ns = [n for _, n in pairs]
            if isinstance(vals[0], Matches):
                scores = torch.cat([v.scores for v in vals])
                targets = torch.cat([v.targets for v in vals])
                total = (scores.argmax(-1) == targets).sum(dtype=torch.float32)
            else:
                # weights: one number when every batch has the same size (the same products)
                w = ns[0] if min(ns) == max(ns) else torch.tensor(
                    ns, dtype=torch.float32, device=vals[0].device)
                total = (torch.stack(vals).float() * w).sum()
            self.sums[k] = self.sums.get(k, 0.0) + total
            self.counts[k] = self.counts.get(k, 0.0) + float(sum(ns))
        window.clear()

    def means(self) -> dict[str, float]:
        """The epoch's figures so far: each one's mean over its samples."""
        self.fold()
        return {k: float(self.sums[k]) / self.counts[k] for k in self.sums}

    def folded_sums(self) -> dict[str, float]:
        """The sums as plain floats (for a checkpoint)."""
        self.fold()
        return {k: float(v) for k, v in self.sums.items()}

    def load(self, sums: dict[str, float], counts: dict[str, float]) -> None:
        """Restore what :meth:`folded_sums` and ``counts`` held (a resumed run)."""
        self.window.clear()
        self.sums, self.counts = dict(sums), counts


class Throttle:
    """True at most once per ``interval`` seconds (``clock`` injectable for tests): when
    the loop reports the figures gathered since its last report."""

    def __init__(self, interval: float = 0.05, clock=time.perf_counter) -> None:
        self.interval, self.clock = interval, clock
        self.last = -math.inf

    def ready(self) -> bool:
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False
