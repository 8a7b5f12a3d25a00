"""Classification: cross-entropy (with label smoothing); accuracy, precision, recall, F1
(macro and per class) and the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from engine.tasks.base import Matches, Task


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[C, C] counts; row = true class, column = predicted class."""
    idx = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def classification_metrics(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                           num_outputs: int | None = None) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, per-class lists and the confusion matrix.

    The averages and per-class lists are over the dataset's ``num_classes`` classes only.
    A model may have more outputs than classes (``num_outputs``, e.g. LeNet-5's 10 outputs
    on 3 classes): a prediction of an unused output is simply wrong, counted in the
    confusion matrix's extra columns, never averaged in as a class. The confusion matrix
    has one row per class (true) and one column per output (predicted): square when the
    model has exactly one output per class.

    A class never predicted has precision 0; never present, recall 0 (F1 0 then too), as
    scikit-learn does with ``zero_division=0``.
    """
    width = max(num_classes, num_outputs or 0)
    full = confusion_matrix(pred, target, width).double().cpu()
    cm = full[:num_classes]  # rows of unused outputs are empty: no target is one
    tp = cm.diag()
    predicted = full.sum(0)[:num_classes]
    actual = cm.sum(1)
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(actual > 0, tp / actual.clamp(min=1), torch.zeros_like(tp))
    denom = precision + recall
    f1 = torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-300), torch.zeros_like(tp))
    total = full.sum().item()

    def mean(v: torch.Tensor) -> float:
        return v.mean().item() if v.numel() else 0.0

    return {
        "accuracy": tp.sum().item() / total if total else 0.0,
        "precision": mean(precision),
        "recall": mean(recall),
        "f1": mean(f1),
        "precision_per_class": precision.tolist(),
        "recall_per_class": recall.tolist(),
        "f1_per_class": f1.tolist(),
        "confusion_matrix": cm.long().tolist(),
    }


def _short(name: str, width: int) -> str:
    """``name`` on one line, at most ``width`` characters: the middle is cut (``..``), as
    names often differ at their end (``class_0001``, ``class_0002``)."""
    name = " ".join(str(name).split())  # one line, whatever the folder was called
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return name[:head] + ".." + name[len(name) - (width - 2 - head):]


def confusion_lines(cm: Sequence[Sequence[int]], classes: Sequence[str] | None,
                    width: int = 12) -> list[str]:
    """The confusion matrix as text with class names as row and column labels (rows: true
    class, columns: predicted). Names longer than ``width`` lose their middle (``..``); if
    that makes two alike, the labels get the class index in front. Columns past the classes
    (unused model outputs) are labelled ``out N``."""
    rows = len(cm)
    cols = max((len(r) for r in cm), default=0)
    names = list(classes) if classes and len(classes) == rows else [str(i) for i in range(rows)]
    labels = [_short(n, width) for n in names]
    if len(set(labels)) < len(labels):
        labels = [_short(f"{i}:{n}", width) for i, n in enumerate(names)]
    heads = labels + [f"out {j}" for j in range(rows, cols)]
    cells = [[str(v) for v in r] + [""] * (cols - len(r)) for r in cm]
    colw = [max([len(heads[j])] + [len(r[j]) for r in cells]) for j in range(cols)]
    loc = max([len(x) for x in labels] + [len("true \\ pred")])
    out = ["true \\ pred".ljust(loc) + "  " + "  ".join(h.rjust(w) for h, w in zip(heads, colw, strict=True))]
    for label, r in zip(labels, cells, strict=True):
        out.append(label.ljust(loc) + "  " + "  ".join(v.rjust(w) for v, w in zip(r, colw, strict=True)))
    return out


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
        return {"loss": loss.detach(), "accuracy": Matches(out.detach(), y)}

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        out, y = self.outputs(split, batch_size)
        assert y is not None
        outputs = out.shape[-1]
        # averages over the dataset's classes, not the model's outputs (a wider classifier
        # must not add empty classes); data without class names: labels seen or outputs
        c = self.bundle.num_classes or max(outputs, int(y.max().item()) + 1 if y.numel() else 0)
        metrics = {"loss": F.cross_entropy(out, y).item()}
        metrics.update(classification_metrics(out.argmax(-1), y, c, outputs))
        if self.bundle.classes:
            metrics["classes"] = list(self.bundle.classes)
        return metrics
