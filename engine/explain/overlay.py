"""Pictures of explanations with numpy and Pillow: a heat map over the sample's image,
a block's feature maps as a grid, an activation histogram, and a row of them in one PNG
(the ``layerforge explain`` output; the app draws the same arrays)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

#: the heat colour scale, dark to bright (the "inferno" colour map at a few stops): low
#: attributions stay dark and let the image show, high ones glow
HEAT_STOPS = np.array([
    [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
    [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float32)
#: how much of the heat covers the image where the map is at its strongest
ALPHA = 0.75


def heat_colours(m: np.ndarray) -> np.ndarray:
    """A map in [0, 1] [H, W] -> uint8 RGB [H, W, 3] on the heat scale."""
    t = np.clip(np.nan_to_num(m.astype(np.float32)), 0, 1) * (len(HEAT_STOPS) - 1)
    lo = np.floor(t).astype(int).clip(0, len(HEAT_STOPS) - 2)
    f = (t - lo)[..., None]
    rgb = HEAT_STOPS[lo] * (1 - f) + HEAT_STOPS[lo + 1] * f
    return rgb.round().astype(np.uint8)


def rgb(image: np.ndarray) -> np.ndarray:
    """A uint8 picture [H, W] or [H, W, 3] as RGB [H, W, 3]."""
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def overlay(image: np.ndarray, m: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The heat map ``m`` ([0, 1], the image's size) over ``image``: uint8 RGB [H, W, 3].
    Each pixel mixes in the heat by its own strength, so what the map ignores shows the
    image (dimmed to grey, so the colours read as the map's)."""
    base = rgb(image).astype(np.float32)
    grey = base.mean(axis=2, keepdims=True) * 0.6
    w = (np.clip(m, 0, 1) * alpha)[..., None]
    mixed = grey * (1 - w) + heat_colours(m).astype(np.float32) * w
    return mixed.round().clip(0, 255).astype(np.uint8)


def scaled(picture: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel as a ``factor`` x ``factor`` block (small images stay crisp)."""
    return picture.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else picture


def feature_grid(maps: np.ndarray, limit: int = 64, gap: int = 1) -> np.ndarray:
    """The first ``limit`` feature maps [C, H, W] side by side in a near-square grid,
    each stretched to its own range: uint8 grey [rows*H, cols*W] with ``gap`` pixel
    lines between them."""
    maps = maps[:limit]
    c, h, w = maps.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    out = np.zeros((rows * (h + gap) - gap, cols * (w + gap) - gap), dtype=np.uint8)
    for i, fm in enumerate(maps):
        lo, hi = float(fm.min()), float(fm.max())
        cell = (fm - lo) / (hi - lo) if hi > lo else np.zeros_like(fm)
        r, k = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = (
            cell * 255).round().astype(np.uint8)
    return out


def histogram(values: np.ndarray, bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of a block's activations (a vector)."""
    v = np.nan_to_num(values.astype(np.float64).reshape(-1))
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.histogram(v, bins=bins, range=(lo, hi))


def histogram_picture(values: np.ndarray, width: int = 240, height: int = 160) -> np.ndarray:
    """A block's activations as histogram bars: uint8 RGB [height, width, 3]."""
    counts, _ = histogram(values)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    top = max(int(counts.max()), 1)
    bar = width / len(counts)
    for i, n in enumerate(counts):
        h = round((height - 4) * int(n) / top)
        x0, x1 = round(i * bar), max(round((i + 1) * bar) - 1, round(i * bar) + 1)
        out[height - h:, x0:x1] = (47, 111, 222)
    return out


def row_png(pictures: list[np.ndarray], path: str | Path | None = None, gap: int = 8) -> bytes:
    """``pictures`` (uint8 grey or RGB) side by side on white, tops aligned, as PNG bytes;
    also written to ``path`` when given."""
    from PIL import Image

    parts = [rgb(p) for p in pictures]
    height = max(p.shape[0] for p in parts)
    width = sum(p.shape[1] for p in parts) + gap * (len(parts) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for p in parts:
        canvas[:p.shape[0], x:x + p.shape[1]] = p
        x += p.shape[1] + gap
    buf = io.BytesIO()
    Image.fromarray(canvas, "RGB").save(buf, format="PNG")
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data
