"""Answers read from a model's outputs for "Try it": regression values with their names,
a segmentation mask with each class's share of the pixels, and detection boxes decoded by
the task's own decoder (the one evaluation and the exported model use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from engine.train.inference import LoadedRun


def answers_of(loaded: LoadedRun, what: str, x: torch.Tensor, names: list[str],
               batch: int) -> list[dict[str, Any]]:
    """The answers of a "regression", "segmentation" or "detection" run to the model
    inputs ``x`` (one per name), ``batch`` inputs per forward pass."""
    task = loaded.task
    answers: list[dict[str, Any]] = []
    for start in range(0, x.shape[0], batch):
        part = x[start:start + batch].to(task.device)
        with task.autocast():
            out = task.forward(part).float()
        rows = names[start:start + batch]
        if what == "regression":
            answers += _values(loaded, out, rows)
        elif what == "segmentation":
            answers += _masks(loaded, out, rows)
        else:
            answers += _boxes(loaded, part, out, rows)
    return answers


def target_names(loaded: LoadedRun, count: int) -> list[str]:
    """The names of a regression's ``count`` outputs: data.json's ``target_names`` when
    they fit, else "y" (one output) or "y1", "y2"..."""
    names = (loaded.info or {}).get("target_names")
    if isinstance(names, list) and len(names) == count:
        return [str(n) for n in names]
    return ["y"] if count == 1 else [f"y{i + 1}" for i in range(count)]


def _values(loaded: LoadedRun, out: torch.Tensor, rows: list[str]) -> list[dict[str, Any]]:
    flat = out.reshape(out.shape[0], -1).cpu()
    names = target_names(loaded, flat.shape[1])
    return [{"input": name, "values": values, "names": names}
            for name, values in zip(rows, flat.tolist(), strict=True)]


def _class_names(loaded: LoadedRun, count: int) -> list[str]:
    classes = [str(c) for c in loaded.bundle.classes or []]
    return classes[:count] + [f"class {i}" for i in range(len(classes), count)]


def _masks(loaded: LoadedRun, out: torch.Tensor, rows: list[str]) -> list[dict[str, Any]]:
    """The argmax mask of scores [N, K, H, W] and each class's share of its pixels."""
    masks = out.argmax(1).clamp(max=255).to(torch.uint8).cpu().numpy()
    names = _class_names(loaded, out.shape[1])
    answers = []
    for name, mask in zip(rows, masks, strict=True):
        counts = np.bincount(mask.ravel(), minlength=len(names))[:len(names)]
        shares = {c: float(n) / mask.size for c, n in zip(names, counts, strict=True)}
        answers.append({"input": name, "mask": mask, "shares": shares})
    return answers


def _boxes(loaded: LoadedRun, x: torch.Tensor, out: torch.Tensor,
           rows: list[str]) -> list[dict[str, Any]]:
    """The decoder's boxes (those scoring above 0: the rest are its empty slots)."""
    from engine.tasks.detection import stride_of

    task = loaded.task
    decoder = task.decoder(stride_of(tuple(x.shape), tuple(out.shape)))  # type: ignore[attr-defined]
    boxes, scores, labels = (t.cpu() for t in decoder(out))
    names = _class_names(loaded, int(labels.max()) + 1 if labels.numel() else 0)
    answers = []
    for name, b, s, c in zip(rows, boxes, scores, labels, strict=True):
        keep = (s > 0).nonzero().flatten().tolist()
        found = [{"class": names[int(c[i])], "score": float(s[i]),
                  "box": [float(v) for v in b[i].tolist()]} for i in keep]
        found.sort(key=lambda f: -f["score"])
        answers.append({"input": name, "boxes": found})
    return answers
