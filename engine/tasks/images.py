"""Image grids as PNG bytes, with Pillow (no torchvision)."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image


def grid_png(images: torch.Tensor, nrow: int = 8, pad: int = 2, scale: int = 2) -> bytes:
    """PNG of ``images`` [N, C, H, W] with values in [0, 1] (clamped), ``nrow`` per row.

    One or three channels are drawn as grey or RGB; other channel counts show channel 0.
    """
    x = images.detach().float().cpu().clamp(0, 1)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    n, c, h, w = x.shape
    if c not in (1, 3):
        x, c = x[:, :1], 1
    cols = max(1, min(nrow, n))
    rows = max(1, -(-n // cols))
    grid = torch.ones(c, rows * (h + pad) + pad, cols * (w + pad) + pad) * 0.5
    for i in range(n):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[:, top:top + h, left:left + w] = x[i]
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    img = Image.fromarray(arr[:, :, 0] if c == 1 else arr, mode="L" if c == 1 else "RGB")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
