"""Image augmentation on whole batches, in torch, on whatever device the batch is on.

Random parameters are drawn on the CPU from the generator given for the batch, so the same
seed gives the same augmentation on CPU and GPU. Padding and rotation fill with 0, which in
normalised data is the channel mean.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class Augment:
    """Random horizontal flip, random crop after zero padding, and small rotations.

    ``flip``: flip half the images left-right; ``crop``: pad by this many pixels on every
    side, then crop back to the original size at a random offset; ``rotate``: rotate by
    a random angle in [-rotate, +rotate] degrees. Call as ``augment(x, generator)`` on a
    float batch of shape [B, C, H, W].
    """

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
        if x.dim() != 4 or not x.is_floating_point():
            raise ValueError(f"augmentation needs a float batch [B, C, H, W], not {tuple(x.shape)}")
        if self.flip:
            x = _flip(x, generator)
        if self.crop > 0:
            x = _crop(x, self.crop, generator)
        if self.rotate > 0:
            x = _rotate(x, self.rotate, generator)
        return x


def _flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    mask = (torch.rand(x.shape[0], generator=g) < 0.5).to(x.device)
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)


def _crop(x: torch.Tensor, pad: int, g: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    rows = (oy[:, None] + torch.arange(h)).to(x.device)  # [B, H]
    cols = (ox[:, None] + torch.arange(w)).to(x.device)  # [B, W]
    padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)  # [B, H+2p, W+2p, C]
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded[batch, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    return out.permute(0, 3, 1, 2).contiguous()


def _rotate(x: torch.Tensor, degrees: float, g: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    angle = (torch.rand(b, generator=g, dtype=torch.float64) * 2 - 1) * math.radians(degrees)
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
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
