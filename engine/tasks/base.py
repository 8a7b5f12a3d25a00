"""The common interface of every task: how a batch becomes losses and updates, how a
split is evaluated, and what a sample looks like."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import nn

from engine.data import DataBundle, iter_batches
from engine.project import TaskSpec

# step(optimizer_name, loss): backward, clip, check and apply one update of that optimizer.
StepFn = Callable[[str, torch.Tensor], None]


@dataclass(frozen=True)
class SampleOut:
    """What a task generates for the user: text, or a PNG image grid."""

    kind: str  # "text" or "image"
    text: str = ""
    png: bytes = b""
    caption: str = ""


class Matches(NamedTuple):
    """A training figure the loop computes at its next report rather than at each step: the
    share of rows of ``scores`` [N, C] whose largest entry is at ``targets`` [N] (accuracy).
    The loop counts the matches of many steps in one go, so a step spends no device
    operations on it (on a small model those were ~6% of a step)."""

    scores: torch.Tensor
    targets: torch.Tensor


class Task:
    """Base class. Subclasses set ``kind`` and implement the hooks below."""

    kind: ClassVar[str] = ""
    graphs: ClassVar[tuple[str, ...]] = ("model",)
    higher_is_better: ClassVar[frozenset[str]] = frozenset(
        {"accuracy", "precision", "recall", "f1", "r2", "d_real"})

    def __init__(self, spec: TaskSpec, bundle: DataBundle, models: dict[str, nn.Module],
                 device: torch.device | str = "cpu",
                 autocast: Callable[[], contextlib.AbstractContextManager] | None = None,
                 seed: int = 0) -> None:
        self.spec = spec
        self.bundle = bundle
        self.models = models
        self.device = torch.device(device)
        self.autocast = autocast or contextlib.nullcontext
        self.seed = seed

    # --- training --------------------------------------------------------------------
    def optimizers(self) -> dict[str, list[str]]:
        """Optimizer name -> the graphs whose parameters it updates."""
        return {"model": list(self.graphs)}

    def train_step(self, x: torch.Tensor, y: torch.Tensor | None, step: StepFn) -> dict[str, torch.Tensor]:
        """One batch: compute the loss(es), call ``step`` for each update, and return
        detached per-batch figures (``loss`` first): 0-d tensors (the batch's mean) or
        :class:`Matches`. Never calls ``.item()``."""
        with self.autocast():
            loss = self.loss(self.forward(x), x, y)
        step("model", loss)
        return {"loss": loss.detach()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.models["model"](x)

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        """Metrics over a whole split, as plain Python values."""
        raise NotImplementedError

    def batches(self, split: Any, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        return iter_batches(split, batch_size, shuffle=False, device=self.device)

    def outputs(self, split: Any, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Model outputs (float32) and targets for a whole split, in eval mode, no grad."""
        outs, ys = [], []
        with torch.no_grad(), eval_mode(self.models):
            for x, y in self.batches(split, batch_size):
                with self.autocast():
                    outs.append(self.forward(x).float())
                if y is not None:
                    ys.append(y)
        out = torch.cat(outs) if outs else torch.empty(0)
        return out, (torch.cat(ys) if ys else None)

    def mode(self, metric: str) -> str:
        """"max" when a larger value of ``metric`` is better, else "min"."""
        name = metric.removeprefix("val_").removeprefix("train_")
        return "max" if name in self.higher_is_better else "min"

    def state_dict(self) -> dict[str, Any]:
        """Plain-JSON task state that a checkpoint must keep (beyond the models)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    # --- samples ---------------------------------------------------------------------
    def sample(self, epoch: int) -> SampleOut | None:
        """Something to show the user at the end of an epoch, or None."""
        return None


@contextlib.contextmanager
def eval_mode(models: dict[str, nn.Module]) -> Iterator[None]:
    """Put every model in eval mode, restoring each one's previous mode afterwards."""
    was = {k: m.training for k, m in models.items()}
    for m in models.values():
        m.eval()
    try:
        yield
    finally:
        for k, m in models.items():
            m.train(was[k])
