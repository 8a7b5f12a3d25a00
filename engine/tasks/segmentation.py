"""Semantic segmentation: a class for every pixel.

The model gives class scores [N, K, H, W]; the target is a mask [N, H, W] of class indices.
Pixels marked with ``task.ignore_index`` (255 by default: the void border of a mask, or
what a rotation filled in) are left out of the loss and of every metric, and so is any
value the model has no output for (the data's 255 when ``ignore_index`` was changed).

Loss (``task.loss``): "ce+dice" (the default) adds a soft Dice loss to the per-pixel
cross-entropy, so that small objects count as much as the large background; "ce" is the
cross-entropy alone. Metrics come from one confusion matrix over the split's pixels.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import UserError
from engine.tasks.base import SampleOut, Task, eval_mode
from engine.tasks.classification import confusion_matrix
from engine.tasks.images import first_samples, overlay_masks, rgb_images, tile_png, upscale_factor

LOSSES = ("ce+dice", "ce")
_ALIASES = {"": "ce+dice", "cross_entropy": "ce", "dice": "ce+dice", "ce_dice": "ce+dice"}
_NO_TARGET = -100  # F.cross_entropy's own ignore value: where left-out pixels are moved
SHOWN = 8  # validation images in the per-epoch sample
SAMPLE_SIDE = 128  # their pictures are enlarged to about this many pixels a side


def valid_pixels(y: torch.Tensor, ignore_index: int, outputs: int) -> torch.Tensor:
    """Bool mask of the pixels that count: not ``ignore_index`` and a class the model has
    an output for."""
    return (y != ignore_index) & (y >= 0) & (y < outputs)


def soft_dice_loss(logits: torch.Tensor, y: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """1 - the mean over classes of the soft Dice coefficient of softmax(logits) against
    the one-hot mask, over the valid pixels of the whole batch. A smoothing of 1 keeps a
    class absent from the batch at a Dice of 1 once the model predicts none of it."""
    k = logits.shape[1]
    prob = logits.float().softmax(1) * valid.unsqueeze(1)
    onehot = F.one_hot(torch.where(valid, y, 0).long(), k).permute(0, 3, 1, 2)
    onehot = onehot * valid.unsqueeze(1)
    dims = (0, 2, 3)
    inter = (prob * onehot).sum(dims)
    total = prob.sum(dims) + onehot.sum(dims)
    return 1.0 - ((2 * inter + 1.0) / (total + 1.0)).mean()


def iou_dice(cm: torch.Tensor, classes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class IoU, Dice and whether the class was seen at all, from confusion matrices
    ``cm`` [..., W, W] over pixels (rows: true class, columns: predicted; W >= ``classes``,
    the columns past ``classes`` being model outputs no class uses, their pixels simply
    wrong). A class neither in the truth nor in the predictions is not seen (IoU 0)."""
    cm = cm.double()
    rows = cm[..., :classes, :]
    tp = rows[..., :classes].diagonal(dim1=-2, dim2=-1)
    truth = rows.sum(-1)
    predicted = cm.sum(-2)[..., :classes]
    union = truth + predicted - tp
    seen = union > 0
    iou = torch.where(seen, tp / union.clamp(min=1), torch.zeros_like(tp))
    dice = torch.where(seen, 2 * tp / (truth + predicted).clamp(min=1), torch.zeros_like(tp))
    return iou, dice, seen


def segmentation_metrics(cm: torch.Tensor, classes: int) -> dict[str, Any]:
    """Pixel accuracy, mean IoU and mean Dice, and the per-class IoU and Dice, from a
    confusion matrix over the split's pixels (see :func:`iou_dice`).

    A class neither in the truth nor in the predictions has no IoU (None in the lists)
    and is left out of the means, as mmsegmentation does: an empty class is no success."""
    full = cm.double().cpu()
    iou, dice, seen = iou_dice(full, classes)
    total = full.sum().item()

    def mean(v: torch.Tensor) -> float:
        return v[seen].mean().item() if bool(seen.any()) else 0.0

    def listed(v: torch.Tensor) -> list[float | None]:
        return [x if s else None for x, s in zip(v.tolist(), seen.tolist(), strict=True)]

    return {
        "miou": mean(iou),
        "pixel_accuracy": full[:classes, :classes].trace().item() / total if total else 0.0,
        "mean_dice": mean(dice),
        "iou_per_class": listed(iou),
        "dice_per_class": listed(dice),
        "confusion_matrix": full[:classes].long().tolist(),
    }


class SegmentationTask(Task):
    kind: ClassVar[str] = "segmentation"
    higher_is_better: ClassVar[frozenset[str]] = Task.higher_is_better | {
        "miou", "pixel_accuracy", "mean_dice"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.spec.loss.strip().lower()
        self.loss_name = _ALIASES.get(name, name)
        if self.loss_name not in LOSSES:
            raise UserError(f"task.loss {self.spec.loss!r} is not a segmentation loss: use "
                            f"{' or '.join(LOSSES)} (empty means ce+dice)")

    # --- training ------------------------------------------------------------------------
    def parts(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss and its parts for scores ``out`` [N, K, H, W] and masks ``y``."""
        out = out.float()
        valid = valid_pixels(y, self.spec.ignore_index, out.shape[1])
        target = torch.where(valid, y, _NO_TARGET).long()
        # a sum over the counted pixels, not F's mean: a batch with none left gives 0, not NaN
        ce = F.cross_entropy(out, target, ignore_index=_NO_TARGET, reduction="sum")
        ce = ce / valid.sum().clamp(min=1)
        if self.loss_name == "ce":
            with torch.no_grad():
                dice = soft_dice_loss(out, y, valid)
            return {"loss": ce, "loss_ce": ce, "loss_dice": dice}
        dice = soft_dice_loss(out, y, valid)
        return {"loss": ce + dice, "loss_ce": ce, "loss_dice": dice}

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        assert y is not None
        return self.parts(out, y)["loss"]

    def train_step(self, x, y, step):
        with self.autocast():
            out = self.forward(x)
        parts = self.parts(out, y)
        step("model", parts["loss"])
        with torch.no_grad():
            valid = valid_pixels(y, self.spec.ignore_index, out.shape[1])
            right = ((out.argmax(1) == y) & valid).sum()
            acc = right / valid.sum().clamp(min=1)
        figures = {k: v.detach() for k, v in parts.items()}
        figures["pixel_accuracy"] = acc.float()
        return figures

    # --- evaluation ----------------------------------------------------------------------
    def _classes(self, outputs: int) -> int:
        """The classes the metrics average over: the data's, else the model's outputs."""
        return self.bundle.num_classes or outputs

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        cm: torch.Tensor | None = None
        ce_sum, dice_sum = 0.0, 0.0
        pixels, samples, outputs = 0, 0, 0
        with torch.no_grad(), eval_mode(self.models):
            for x, y in self.batches(split, batch_size):
                assert y is not None
                with self.autocast():
                    out = self.forward(x).float()
                outputs = out.shape[1]
                width = max(self._classes(outputs), outputs)
                valid = valid_pixels(y, self.spec.ignore_index, self._classes(outputs))
                batch_cm = confusion_matrix(out.argmax(1)[valid], y[valid], width)
                cm = batch_cm if cm is None else cm + batch_cm
                parts = self.parts(out, y)
                counted = int(valid_pixels(y, self.spec.ignore_index, outputs).sum())
                ce_sum += parts["loss_ce"].item() * counted  # a mean over the counted pixels
                dice_sum += parts["loss_dice"].item() * x.shape[0]  # over the batch
                pixels += counted
                samples += x.shape[0]
        if cm is None:
            return {}
        ce, dice = ce_sum / max(1, pixels), dice_sum / max(1, samples)
        metrics: dict[str, Any] = {
            "loss": ce + dice if self.loss_name == "ce+dice" else ce,
            "loss_ce": ce, "loss_dice": dice}
        metrics.update(segmentation_metrics(cm, self._classes(outputs)))
        if self.bundle.classes:
            metrics["classes"] = list(self.bundle.classes)
        return metrics

    def predict(self, split: Any, batch_size: int,
                limit: int | None = None) -> tuple[np.ndarray, list[float]]:
        """The predicted masks (uint8 [N, H, W]) of the first ``limit`` samples of ``split``
        (all when None), and each image's mean IoU over the classes in its truth or its
        prediction (1.0 for an image with no counted pixel and none predicted), for a
        gallery sorted worst first."""
        masks: list[np.ndarray] = []
        scores: list[float] = []
        left = len(split) if limit is None else min(limit, len(split))
        with torch.no_grad(), eval_mode(self.models):
            for x, y in self.batches(split, batch_size):
                if left <= 0:
                    break
                x, y = x[:left], None if y is None else y[:left]
                with self.autocast():
                    out = self.forward(x).float()
                masks.append(out.argmax(1).clamp(max=255).to(torch.uint8).cpu().numpy())
                if y is not None:
                    scores += self._image_iou(out, y)
                left -= x.shape[0]
        if not masks:
            return np.zeros((0, 0, 0), np.uint8), []
        return np.concatenate(masks), scores

    def _image_iou(self, out: torch.Tensor, y: torch.Tensor) -> list[float]:
        """Each image's mean IoU over the classes in its truth or prediction (1.0 when
        there are none): one confusion matrix per image, from one bincount."""
        n, outputs = out.shape[0], out.shape[1]
        classes = self._classes(outputs)
        k = max(classes, outputs)
        pred = out.argmax(1)
        valid = valid_pixels(y, self.spec.ignore_index, classes)
        image = torch.arange(n, device=y.device).view(n, 1, 1).expand_as(y)
        idx = ((image * k + y.clamp(min=0)) * k + pred)[valid]
        cms = torch.bincount(idx, minlength=n * k * k).reshape(n, k, k)
        iou, _dice, seen = iou_dice(cms, classes)
        count = seen.sum(1)
        mean = torch.where(count > 0, iou.sum(1) / count.clamp(min=1), torch.ones_like(iou[:, 0]))
        return mean.tolist()

    # --- samples -------------------------------------------------------------------------
    _shown: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def sample(self, epoch: int) -> SampleOut | None:
        """The first SHOWN validation images (the same every epoch, so epochs compare) above
        their predicted masks, in the class colours of the evaluation gallery, with the
        mean IoU over those images."""
        if self._shown is None:
            self._shown = first_samples(self.bundle.val, SHOWN, self.device)
        if self._shown is None:
            return None
        x, y = self._shown
        with torch.no_grad(), eval_mode(self.models), self.autocast():
            out = self.forward(x).float()
        pred = out.argmax(1)
        images = rgb_images(self.bundle.denormalize(x.float()))
        names = list(self.bundle.classes or [str(i) for i in range(out.shape[1])])
        masks = overlay_masks(images, pred.clamp(max=255).cpu().numpy(), names)
        scale = upscale_factor(*images.shape[1:3], SAMPLE_SIDE)
        png = tile_png([*images, *masks], nrow=len(images), scale=scale)
        caption = f"epoch {epoch}: predicted masks (bottom) on {len(images)} validation images"
        if y is not None:
            classes = self._classes(out.shape[1])
            valid = valid_pixels(y, self.spec.ignore_index, classes)
            cm = confusion_matrix(pred[valid], y[valid], max(classes, out.shape[1]))
            caption += f", mIoU {segmentation_metrics(cm, classes)['miou']:.2f} on these"
        return SampleOut("image", png=png, caption=caption)
