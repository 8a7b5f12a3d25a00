"""Image augmentation on whole batches, in torch, on whatever device the batch is on.

Random parameters are drawn on the CPU from the generator given for the batch, so the same
seed gives the same augmentation on CPU and GPU. Padding and rotation fill images with 0,
which in normalised data is the channel mean.

:class:`PairAugment` moves segmentation masks and detection boxes with their images: it
draws exactly the parameters :class:`Augment` draws, in the same order, and applies them
to the image and to its target alike.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: mask value of pixels with no data after augmentation (padding, rotated-in corners):
#: the value the loss ignores (TaskSpec.ignore_index's default, fixed in the data)
IGNORE = 255
#: a box keeping less than this fraction of its area inside the image is dropped
MIN_BOX_AREA = 0.4
#: a box with a side shorter than this (pixels) after clipping is dropped
MIN_BOX_SIDE = 2.0


class Augment:
    """Random horizontal flip, random crop after zero padding, and small rotations.

    ``flip``: flip half the images left-right; ``crop``: pad by this many pixels on every
    side, then crop back to the original size at a random offset; ``rotate``: rotate by
    a random angle in [-rotate, +rotate] degrees. Call as ``augment(x, generator)`` on a
    float batch of shape [B, C, H, W].
    """

    #: targets stay as they are (class labels); see PairAugment
    moves_targets = False

    def __init__(self, flip: bool = False, crop: int = 0, rotate: float = 0.0) -> None:
        if crop < 0 or rotate < 0:
            raise ValueError("crop padding and rotation must not be negative")
        self.flip = flip
        self.crop = int(crop)
        self.rotate = float(rotate)

    @property
    def active(self) -> bool:
        """Whether any augmentation is switched on."""
        return self.flip or self.crop > 0 or self.rotate > 0

    def __repr__(self) -> str:
        return f"Augment(flip={self.flip}, crop={self.crop}, rotate={self.rotate:g})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_images(x)
        b = x.shape[0]
        if self.flip:
            x = _flip(x, _draw_flip(b, generator))
        if self.crop > 0:
            oy, ox = _draw_crop(b, self.crop, generator)
            x = _crop(x, self.crop, oy, ox, 0.0)
        if self.rotate > 0:
            x = _rotate(x, _draw_angle(b, self.rotate, generator), "bilinear")
        return x


class PairAugment(Augment):
    """:class:`Augment` that moves each image's target with it.

    ``target`` "mask": masks [B, H, W] (long) are flipped, shifted and rotated with their
    images, sampled nearest (no blended class values); pixels with no data (crop padding,
    rotated-in corners) become :data:`IGNORE`. ``target`` "boxes": boxes [B, M, 5]
    (``class, x0, y0, x1, y1`` in pixels, unused rows -1) are flipped and shifted, then
    clipped to the image; a box keeping less than :data:`MIN_BOX_AREA` of its area or with a
    side under :data:`MIN_BOX_SIDE` pixels is dropped (its row becomes -1). Boxes do not
    rotate (a rotated box is no longer tight), so ``rotate`` is ignored for them and the
    images are not rotated either. Call as ``pair(x, y, generator) -> (x, y)``.
    """

    moves_targets = True

    def __init__(self, flip: bool = False, crop: int = 0, rotate: float = 0.0,
                 target: str = "mask") -> None:
        if target not in ("mask", "boxes"):
            raise ValueError(f"PairAugment moves masks or boxes, not {target!r}")
        super().__init__(flip, crop, rotate)
        self.target = target

    @property
    def active(self) -> bool:
        """Whether any augmentation applies to this target (rotation does not to boxes)."""
        return self.flip or self.crop > 0 or (self.rotate > 0 and self.target == "mask")

    def __repr__(self) -> str:
        return (f"PairAugment(flip={self.flip}, crop={self.crop}, rotate={self.rotate:g}, "
                f"target={self.target!r})")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        # images moved without their masks or boxes would no longer match them
        raise TypeError("PairAugment moves images with their targets: call pair(x, y, generator)")

    def pair(self, x: torch.Tensor, y: torch.Tensor | None,
             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The augmented batch and its targets, moved alike."""
        if y is None:
            raise ValueError(f"PairAugment({self.target}) needs the batch's targets")
        _check_images(x)
        b, _, h, w = x.shape
        masks = self.target == "mask"
        if masks and (y.dim() != 3 or tuple(y.shape) != (b, h, w)):
            raise ValueError(f"masks must be [B, H, W] = {(b, h, w)}, not {tuple(y.shape)}")
        if not masks and (y.dim() != 3 or y.shape[0] != b or y.shape[2] != 5):
            raise ValueError(f"boxes must be [B, M, 5], not {tuple(y.shape)}")
        if self.flip:
            flip = _draw_flip(b, generator)
            x = _flip(x, flip)
            y = _flip(y, flip) if masks else _flip_boxes(y, flip, w)
        if self.crop > 0:
            oy, ox = _draw_crop(b, self.crop, generator)
            x = _crop(x, self.crop, oy, ox, 0.0)
            y = _crop(y[:, None], self.crop, oy, ox, IGNORE)[:, 0] if masks else (
                _shift_boxes(y, self.crop - ox, self.crop - oy, w, h))
        if self.rotate > 0 and masks:
            angle = _draw_angle(b, self.rotate, generator)
            x = _rotate(x, angle, "bilinear")
            # nearest keeps class values whole; shifting by one marks the zero fill
            moved = _rotate((y + 1).float()[:, None], angle, "nearest")[:, 0]
            y = torch.where(moved < 0.5, IGNORE, moved.round().long() - 1)
        return x, y


def _check_images(x: torch.Tensor) -> None:
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"augmentation needs a float batch [B, C, H, W], not {tuple(x.shape)}")


def _draw_flip(b: int, g: torch.Generator) -> torch.Tensor:
    return torch.rand(b, generator=g) < 0.5


def _draw_crop(b: int, pad: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    return oy, ox


def _draw_angle(b: int, degrees: float, g: torch.Generator) -> torch.Tensor:
    return (torch.rand(b, generator=g, dtype=torch.float64) * 2 - 1) * math.radians(degrees)


def _flip(x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Images [B, C, H, W] or masks [B, H, W] mirrored left-right where ``flip``."""
    chosen = flip.to(x.device).view(-1, *([1] * (x.dim() - 1)))
    return torch.where(chosen, x.flip(-1), x)


def _flip_boxes(y: torch.Tensor, flip: torch.Tensor, w: int) -> torch.Tensor:
    chosen = (flip.to(y.device)[:, None] & (y[..., 0] >= 0))[..., None]  # [B, M, 1]
    mirrored = torch.stack([y[..., 0], w - y[..., 3], y[..., 2], w - y[..., 1], y[..., 4]], -1)
    return torch.where(chosen, mirrored, y)


def _crop(x: torch.Tensor, pad: int, oy: torch.Tensor, ox: torch.Tensor,
          fill: float) -> torch.Tensor:
    """[B, C, H, W] padded by ``pad`` with ``fill`` and cut back at offsets ``oy``, ``ox``."""
    b, _, h, w = x.shape
    rows = (oy[:, None] + torch.arange(h)).to(x.device)  # [B, H]
    cols = (ox[:, None] + torch.arange(w)).to(x.device)  # [B, W]
    padded = F.pad(x, (pad, pad, pad, pad), value=fill).permute(0, 2, 3, 1)  # [B, H+2p, W+2p, C]
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded[batch, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    return out.permute(0, 3, 1, 2).contiguous()


def _shift_boxes(y: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor, w: int,
                 h: int) -> torch.Tensor:
    """Boxes moved by (dx, dy) pixels per image, clipped to the image; those left too
    small (see PairAugment) become -1 rows."""
    shift = torch.stack([dx, dy, dx, dy], -1).to(device=y.device, dtype=y.dtype)[:, None]
    moved = y[..., 1:] + shift  # [B, M, 4]
    hi = torch.tensor([w, h, w, h], device=y.device, dtype=y.dtype)
    clipped = torch.minimum(moved.clamp_min(0), hi)
    side = clipped[..., 2:] - clipped[..., :2]
    area = (y[..., 3] - y[..., 1]) * (y[..., 4] - y[..., 2])
    keep = ((y[..., 0] >= 0) & (side.min(-1).values >= MIN_BOX_SIDE)
            & (side.prod(-1) >= MIN_BOX_AREA * area))
    out = torch.cat([y[..., :1], clipped], -1)
    return torch.where(keep[..., None], out, torch.full_like(out, -1.0))


def _rotate(x: torch.Tensor, angle: torch.Tensor, mode: str) -> torch.Tensor:
    b, _, h, w = x.shape
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    # Rotation in pixel space, expressed in affine_grid's [-1, 1] coordinates (aspect-aware).
    theta = torch.stack(
        [
            torch.stack([cos, -sin * h / w, zero], dim=1),
            torch.stack([sin * w / h, cos, zero], dim=1),
        ],
        dim=1,
    ).to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
