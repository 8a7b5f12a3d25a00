"""CenterNet targets and loss (Zhou et al., "Objects as Points", 2019).

The detector's output holds, per cell of a map ``stride`` times smaller than the image, a
heatmap logit per class, the box size (w, h in cells) and the centre's offset within its
cell. Targets are built here, on the batch and in torch (on the batch's device), from the
boxes ``[B, M, 5]`` = (class, x0, y0, x1, y1) in input pixels, rows of -1 unused. So
augmentation that moves boxes needs nothing redone, and no per-image Python loop runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: CenterNet's Gaussian radius keeps boxes shifted by it above this IoU with the truth
MIN_OVERLAP = 0.7


@dataclass
class Targets:
    """What the loss compares the maps with.

    ``heatmap`` [B, K, h, w]: 1 at each box's centre cell, a Gaussian around it (the larger
    value where two boxes of a class overlap). ``index`` [B, M]: the flat cell index of each
    box's centre; ``valid`` [B, M] marks real boxes. ``size`` and ``offset`` [B, M, 2]: the
    box's (w, h) in cells and its centre's (x, y) position inside the centre cell.
    """

    heatmap: torch.Tensor
    index: torch.Tensor
    valid: torch.Tensor
    size: torch.Tensor
    offset: torch.Tensor


def gaussian_radius(w: torch.Tensor, h: torch.Tensor, min_overlap: float = MIN_OVERLAP) -> torch.Tensor:
    """The radius (in cells) a box's corners may move and keep ``min_overlap`` IoU with it:
    the smallest root of CenterNet's three cases (both corners move in, out, or one each)."""
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + (b1 ** 2 - 4 * c1).clamp(min=0).sqrt()) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + (b2 ** 2 - 16 * c2).clamp(min=0).sqrt()) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + (b3 ** 2 - 4 * a3 * c3).clamp(min=0).sqrt()) / 2
    return torch.minimum(torch.minimum(r1, r2), r3)


def build_targets(boxes: torch.Tensor, num_classes: int, height: int, width: int,
                  stride: int) -> Targets:
    """Targets for maps of ``height`` x ``width`` cells from ``boxes`` [B, M, 5]."""
    boxes = boxes.float()
    b, m = boxes.shape[:2]
    cls = boxes[..., 0].long()
    valid = (cls >= 0) & (cls < num_classes)
    x0, y0, x1, y1 = (boxes[..., i] / stride for i in range(1, 5))
    bw, bh = (x1 - x0).clamp(min=0), (y1 - y0).clamp(min=0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ix = cx.floor().clamp(0, width - 1)
    iy = cy.floor().clamp(0, height - 1)
    radius = gaussian_radius(bw, bh).floor().clamp(min=0)
    sigma = (2 * radius + 1) / 6
    gx = torch.arange(width, device=boxes.device, dtype=torch.float32)
    gy = torch.arange(height, device=boxes.device, dtype=torch.float32)
    dx = gx.view(1, 1, 1, width) - ix.view(b, m, 1, 1)
    dy = gy.view(1, 1, height, 1) - iy.view(b, m, 1, 1)
    r = radius.view(b, m, 1, 1)
    inside = (dx.abs() <= r) & (dy.abs() <= r) & valid.view(b, m, 1, 1)
    s2 = 2 * sigma.view(b, m, 1, 1) ** 2
    gauss = torch.exp(-(dx ** 2 + dy ** 2) / s2) * inside  # exactly 1 at the centre cell
    heat = torch.zeros(b, num_classes, height * width, device=boxes.device)
    channel = cls.clamp(0, num_classes - 1).view(b, m, 1).expand(b, m, height * width)
    heat = heat.scatter_reduce(1, channel, gauss.view(b, m, -1), reduce="amax")
    index = (iy * width + ix).long()
    return Targets(
        heatmap=heat.view(b, num_classes, height, width),
        index=torch.where(valid, index, torch.zeros_like(index)),
        valid=valid,
        size=torch.stack([bw, bh], -1),
        offset=torch.stack([cx - ix, cy - iy], -1),
    )


def focal_loss(logits: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), summed and divided by the
    number of centres (at least 1). Cells near a centre (heat close to 1) are penalised
    less for a high score."""
    logits = logits.float()
    p = logits.sigmoid()
    pos = heat.eq(1).float()
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    pos_loss = (1 - p) ** 2 * log_p * pos
    neg_loss = (1 - heat) ** 4 * p ** 2 * log_not_p * (1 - pos)
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1)


def _at_centres(maps: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Values of ``maps`` [B, C, h, w] at the flat cells ``index`` [B, M] -> [B, M, C]."""
    b, c = maps.shape[:2]
    flat = maps.reshape(b, c, -1)
    return flat.gather(2, index.unsqueeze(1).expand(b, c, index.shape[1])).transpose(1, 2)


def centernet_loss(out: torch.Tensor, boxes: torch.Tensor, num_classes: int, stride: int,
                   size_weight: float) -> dict[str, torch.Tensor]:
    """``loss`` (heatmap + size_weight * size + offset) and its three parts, for the maps
    ``out`` [B, K + 4, h, w] against ``boxes`` [B, M, 5]. Size and offset count at the
    boxes' centres only, L1 averaged over the real boxes."""
    out = out.float()
    k = num_classes
    t = build_targets(boxes, k, out.shape[2], out.shape[3], stride)
    heat = focal_loss(out[:, :k], t.heatmap)
    mask = t.valid.unsqueeze(-1).float()
    n = mask.sum().clamp(min=1) * 2  # two values (x and y) per box
    size = (F.l1_loss(_at_centres(out[:, k:k + 2], t.index), t.size, reduction="none")
            * mask).sum() / n
    offset = (F.l1_loss(_at_centres(out[:, k + 2:k + 4], t.index), t.offset, reduction="none")
              * mask).sum() / n
    loss = heat + size_weight * size + offset
    return {"loss": loss, "loss_heatmap": heat, "loss_size": size, "loss_offset": offset}
