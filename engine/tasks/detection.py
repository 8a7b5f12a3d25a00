"""Object detection: boxes with classes, anchor-free (CenterNet-style, docs/decisions/0008).

The model gives maps [N, K + 4, H / s, W / s] (a DetectionHead's heatmap, size and offset);
the targets are boxes [N, M, 5] = (class, x0, y0, x1, y1) in input pixels, unused rows -1.
Training compares the maps with targets built on the batch (engine.vision.centernet);
evaluation decodes boxes exactly as the exported model does (engine.vision.decode) and scores
them with COCO's mAP (engine.vision.coco).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from engine.errors import UserError
from engine.tasks.base import SampleOut, Task, eval_mode
from engine.tasks.images import draw_boxes, first_samples, rgb_images, tile_png, upscale_factor
from engine.vision.centernet import centernet_loss
from engine.vision.coco import coco_metrics
from engine.vision.decode import Decoder

LOSS_PARTS = ("loss", "loss_heatmap", "loss_size", "loss_offset")
SHOWN = 8  # validation images in the per-epoch sample
SAMPLE_SCORE = 0.3  # boxes drawn in it score at least this
SAMPLE_SIDE = 192  # its pictures are enlarged to about this many pixels a side
SAMPLE_COLUMNS = 4


def stride_of(input_hw: tuple[int, ...], maps_hw: tuple[int, ...]) -> int:
    """The whole number s with input size = s * map size on both sides, or a UserError."""
    (ih, iw), (mh, mw) = input_hw[-2:], maps_hw[-2:]
    if mh and mw and ih % mh == 0 and iw % mw == 0 and ih // mh == iw // mw:
        return ih // mh
    raise UserError(
        f"detection needs maps a whole number of times smaller than the {ih}x{iw} input, "
        f"but the model gives {mh}x{mw}: change the strides or pooling before the "
        "DetectionHead so that both sides shrink by the same factor (4 or 8)"
    )


class DetectionTask(Task):
    kind: ClassVar[str] = "detection"
    higher_is_better: ClassVar[frozenset[str]] = Task.higher_is_better | {"map", "map50", "map75"}

    @property
    def num_classes(self) -> int:
        return len(self.bundle.classes or []) or 1

    def _losses(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> dict[str, torch.Tensor]:
        assert y is not None
        k = self.num_classes
        if out.dim() != 4 or out.shape[1] != k + 4:
            raise UserError(
                f"detection needs the model to give maps [N, {k + 4}, h, w] (heatmaps for the "
                f"{k} classes, then size and offset) but it gives {list(out.shape)}: end the "
                f"network with a DetectionHead with classes = {k}"
            )
        stride = stride_of(tuple(x.shape), tuple(out.shape))
        return centernet_loss(out, y, k, stride, self.spec.size_weight)

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self._losses(out, x, y)["loss"]

    def train_step(self, x, y, step):
        with self.autocast():
            parts = self._losses(self.forward(x), x, y)
        step("model", parts["loss"])
        return {k: v.detach() for k, v in parts.items()}

    def decoder(self, stride: int) -> Decoder:
        """The decoder the exported model uses too, with this task's settings."""
        s = self.spec
        return Decoder(self.num_classes, stride, s.max_detections, s.min_score, s.nms_iou)

    def _run(self, split: Any, batch_size: int, limit: int | None = None):
        """Loss sums, decoded predictions (per image) and targets over ``split``."""
        sums = dict.fromkeys(LOSS_PARTS, 0.0)
        preds: list[dict[str, list]] = []
        ys = []
        n = 0
        decoder = None
        with torch.no_grad(), eval_mode(self.models):
            for x, y in self.batches(split, batch_size):
                if limit is not None and n >= limit:
                    break
                with self.autocast():
                    out = self.forward(x).float()
                parts = self._losses(out, x, y)
                for k in LOSS_PARTS:
                    sums[k] += float(parts[k]) * x.shape[0]
                if decoder is None:
                    decoder = self.decoder(stride_of(tuple(x.shape), tuple(out.shape)))
                preds += _as_lists(*decoder(out))
                ys.append(y.cpu())
                n += x.shape[0]
        return sums, preds, ys, n

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        sums, preds, ys, n = self._run(split, batch_size)
        metrics: dict[str, Any] = {k: v / max(n, 1) for k, v in sums.items()}
        if not ys:
            return metrics
        truth = _padded(ys)
        hw = tuple(self.bundle.input_shape[-2:])
        metrics.update(coco_metrics(truth, preds, self.num_classes, hw))
        metrics["classes"] = list(self.bundle.classes or [])
        return metrics

    def predict(self, split: Any, batch_size: int, limit: int | None = None) -> list[dict[str, list]]:
        """Decoded boxes per image (boxes [[x0, y0, x1, y1]] in input pixels, scores,
        labels), best first, at most ``limit`` images."""
        preds = self._run(split, batch_size, limit)[1]
        return preds if limit is None else preds[:limit]

    # --- samples -------------------------------------------------------------------------
    _shown: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def sample(self, epoch: int) -> SampleOut | None:
        """The first SHOWN validation images (the same every epoch, so epochs compare) with
        the boxes scoring at least SAMPLE_SCORE, decoded as evaluation does, outlined in
        their class colours and named."""
        if self._shown is None:
            self._shown = first_samples(self.bundle.val, SHOWN, self.device)
        if self._shown is None:
            return None
        x = self._shown[0]
        with torch.no_grad(), eval_mode(self.models):
            with self.autocast():
                out = self.forward(x).float()
            found = self.decoder(stride_of(tuple(x.shape), tuple(out.shape)))(out)
        images = rgb_images(self.bundle.denormalize(x.float()))
        scale = upscale_factor(*images.shape[1:3], SAMPLE_SIDE)
        names = list(self.bundle.classes or [])
        tiles, total = [], 0
        for image, pred in zip(images, _as_lists(*found), strict=True):
            keep = [i for i, s in enumerate(pred["scores"]) if s >= SAMPLE_SCORE]
            total += len(keep)
            tiles.append(draw_boxes(image, [pred["boxes"][i] for i in keep],
                                    [int(pred["labels"][i]) for i in keep], names, scale))
        png = tile_png(tiles, nrow=SAMPLE_COLUMNS)
        caption = (f"epoch {epoch}: {total} boxes scoring at least {SAMPLE_SCORE} on "
                   f"{len(tiles)} validation images")
        return SampleOut("image", png=png, caption=caption)


def _as_lists(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor) -> list[dict[str, list]]:
    """Per image, the decoder's filled slots (score above 0) as plain lists."""
    out = []
    for b, s, c in zip(boxes.cpu(), scores.cpu(), labels.cpu(), strict=True):
        keep = s > 0
        out.append({"boxes": b[keep].tolist(), "scores": s[keep].tolist(),
                    "labels": c[keep].tolist()})
    return out


def _padded(ys: list[torch.Tensor]) -> torch.Tensor:
    """Target batches [n, M_i, 5] as one [N, max M, 5] (splits may differ in M)."""
    m = max(y.shape[1] for y in ys)
    return torch.cat([torch.nn.functional.pad(y, (0, 0, 0, m - y.shape[1]), value=-1.0)
                      for y in ys])
