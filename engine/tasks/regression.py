"""Regression: MSE, MAE or Huber loss; MAE, RMSE and R^2."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from engine.tasks.base import Task

LOSSES = ("mse", "mae", "huber")


def regression_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MAE, RMSE and R^2 (1 - SS_res / SS_tot, over all target values)."""
    p = pred.double().reshape(target.shape[0], -1)
    t = target.double().reshape(target.shape[0], -1)
    err = p - t
    ss_tot = ((t - t.mean(0)) ** 2).sum().item()
    ss_res = (err ** 2).sum().item()
    return {
        "mae": err.abs().mean().item(),
        "rmse": (err ** 2).mean().sqrt().item(),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
    }


class RegressionTask(Task):
    kind: ClassVar[str] = "regression"

    def _fn(self):
        name = (self.spec.loss or "mse").lower()
        if name in ("mae", "l1"):
            return F.l1_loss
        if name in ("huber", "smooth_l1"):
            return F.huber_loss
        return F.mse_loss

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        assert y is not None
        return self._fn()(out.float().reshape(y.shape), y.float())

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        out, y = self.outputs(split, batch_size)
        assert y is not None
        out = out.reshape(y.shape)
        metrics = {"loss": self._fn()(out, y.float()).item()}
        metrics.update(regression_metrics(out, y))
        return metrics
