"""Sample images as uint8 arrays: made from a batch of samples on a background thread
(:func:`images_to_uint8`, torch), shown in the GUI thread as a QImage or QPixmap.

The arrays are plain data, so they may come back from a job (docs/decisions/0002)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def image_from_array(arr: Any) -> QImage:
    """A QImage (copied) from a uint8 numpy array [H, W] (grey) or [H, W, 3] (RGB)."""
    import numpy as np

    a = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def pixmap_from_array(arr: Any, size: int) -> QPixmap:
    """A thumbnail of at most ``size`` pixels a side (GUI thread)."""
    img = image_from_array(arr)
    return QPixmap.fromImage(img.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.FastTransformation))


def images_to_uint8(x: Any, bundle: Any, limit: int) -> list[Any]:
    """Up to ``limit`` samples of an image batch [N, C, H, W] as uint8 arrays (worker side):
    denormalised with the data ``bundle``, scaled to 0..255, grey or RGB."""
    import torch

    x = bundle.denormalize(x[:limit].detach().float().cpu())
    lo, hi = float(x.min()), float(x.max())
    if lo < -0.01 or hi > 1.01:  # not in [0, 1]: stretch for display
        x = (x - lo) / max(hi - lo, 1e-8)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    out = []
    for img in x:
        if img.shape[0] == 3:
            out.append(img.permute(1, 2, 0).numpy().copy())
        else:
            out.append(img[0].numpy().copy())
    return out
