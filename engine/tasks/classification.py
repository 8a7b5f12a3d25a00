"""Classification: cross-entropy (with label smoothing); accuracy, precision, recall, F1
(macro and per class) and the confusion matrix."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from engine.tasks.base import Task


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[C, C] counts; row = true class, column = predicted class."""
    idx = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def classification_metrics(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, per-class lists and the confusion matrix.

    A class never predicted has precision 0; never present, recall 0 (F1 0 then too), as
    scikit-learn does with ``zero_division=0``.
    """
    cm = confusion_matrix(pred, target, num_classes).double().cpu()
    tp = cm.diag()
    predicted = cm.sum(0)
    actual = cm.sum(1)
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(actual > 0, tp / actual.clamp(min=1), torch.zeros_like(tp))
    denom = precision + recall
    f1 = torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-300), torch.zeros_like(tp))
    total = cm.sum().item()
    return {
        "accuracy": tp.sum().item() / total if total else 0.0,
        "precision": precision.mean().item(),
        "recall": recall.mean().item(),
        "f1": f1.mean().item(),
        "precision_per_class": precision.tolist(),
        "recall_per_class": recall.tolist(),
        "f1_per_class": f1.tolist(),
        "confusion_matrix": cm.long().tolist(),
    }


class ClassificationTask(Task):
    kind: ClassVar[str] = "classification"

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        assert y is not None
        return F.cross_entropy(out.float(), y, label_smoothing=self.spec.label_smoothing)

    def train_step(self, x, y, step):
        with self.autocast():
            out = self.forward(x)
            loss = self.loss(out, x, y)
        step("model", loss)
        acc = (out.detach().argmax(-1) == y).float().mean()
        return {"loss": loss.detach(), "accuracy": acc}

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        out, y = self.outputs(split, batch_size)
        assert y is not None
        c = max(self.bundle.num_classes, out.shape[-1])
        metrics = {"loss": F.cross_entropy(out, y).item()}
        metrics.update(classification_metrics(out.argmax(-1), y, c))
        if self.bundle.classes:
            metrics["classes"] = list(self.bundle.classes)
        return metrics
