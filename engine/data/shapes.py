"""Procedurally drawn shape images: the built-in ``shapes`` data set.

Each image is one white shape on black with random position, size, rotation, brightness
and pixel noise. Shapes are drawn with signed distance functions in numpy, evaluated for a
whole batch at once and anti-aliased over one pixel, which is far faster than drawing
thousands of images one by one.
"""

from __future__ import annotations

import math

import numpy as np

SHAPE_CLASSES = ["circle", "square", "triangle", "cross", "star", "ring"]


def draw_shapes(
    labels: np.ndarray, size: int, rng: np.random.Generator, noise: float = 0.05,
    masks: np.ndarray | None = None,
) -> np.ndarray:
    """Float32 images [N, size, size] in [0, 1], one shape of class ``labels[i]`` each.

    ``masks`` (bool [N, size, size]), when given, is filled with each image's shape mask:
    the pixels the shape covers at least half of (the anti-aliased edge cut at the 0.5
    level, as the scenes' masks are). Asking for them draws no more random numbers, so
    the images are the same with or without them."""
    n = len(labels)
    centre = (size - 1) / 2
    axis = (np.arange(size, dtype=np.float32) - centre) / (size / 2)  # pixel centres in [-1, 1]
    gy, gx = np.meshgrid(axis, axis, indexing="ij")
    cx = rng.uniform(-0.18, 0.18, n).astype(np.float32)
    cy = rng.uniform(-0.18, 0.18, n).astype(np.float32)
    scale = rng.uniform(0.45, 0.72, n).astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi, n).astype(np.float32)
    bright = rng.uniform(0.7, 1.0, n).astype(np.float32)
    out = np.empty((n, size, size), dtype=np.float32)
    for k, name in enumerate(SHAPE_CLASSES):
        sel = np.nonzero(labels == k)[0]
        if len(sel) == 0:
            continue
        c, s = np.cos(angle[sel])[:, None, None], np.sin(angle[sel])[:, None, None]
        dx = (gx[None] - cx[sel, None, None]) / scale[sel, None, None]
        dy = (gy[None] - cy[sel, None, None]) / scale[sel, None, None]
        px, py = c * dx + s * dy, -s * dx + c * dy  # shape-local coordinates
        dist = signed_distance(name, px, py)
        pixel = (2.0 / size) / scale[sel, None, None]  # one pixel in local units
        out[sel] = np.clip(0.5 - dist / pixel, 0.0, 1.0) * bright[sel, None, None]
        if masks is not None:
            masks[sel] = dist <= 0
    out += rng.normal(0.0, noise, out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0, out=out)


def signed_distance(name: str, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Signed distance to the edge of shape ``name`` (negative inside) at shape-local
    coordinates ``px``, ``py``, in local units: a shape fits the circle of radius
    ``SHAPE_RADIUS[name]``. Shared with the scenes of :mod:`engine.data.scenes`."""
    return _SDF[name](px, py)


def _box(px: np.ndarray, py: np.ndarray, bx: float, by: float) -> np.ndarray:
    qx, qy = np.abs(px) - bx, np.abs(py) - by
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0)


def _circle(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    return np.hypot(px, py) - 0.95


def _ring(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    return np.abs(np.hypot(px, py) - 0.78) - 0.2


def _square(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    return _box(px, py, 0.75, 0.75)


def _triangle(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    # Intersection of three half-planes: exact inside, a slight underestimate near corners.
    d = None
    for k in range(3):
        a = math.pi / 2 + k * 2 * math.pi / 3
        edge = px * math.cos(a) + py * math.sin(a) - 0.58
        d = edge if d is None else np.maximum(d, edge)
    return d


def _cross(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    return np.minimum(_box(px, py, 0.95, 0.26), _box(px, py, 0.26, 0.95))


def _star(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    # Radius alternates linearly between outer and inner points around five spikes.
    r = np.hypot(px, py)
    sector = 2 * math.pi / 5
    phi = np.mod(np.arctan2(py, px), sector) / sector  # 0..1 within a spike
    t = np.abs(phi - 0.5) * 2  # 1 at a spike tip, 0 between spikes
    edge = 0.42 + (1.0 - 0.42) * t
    return (r - edge) * 0.8


_SDF = {
    "circle": _circle,
    "square": _square,
    "triangle": _triangle,
    "cross": _cross,
    "star": _star,
    "ring": _ring,
}

#: the radius of the smallest circle about the origin that holds each shape, in local units
#: (a square's corner, a triangle's vertex, a cross arm's corner): scenes size shapes by it
SHAPE_RADIUS = {
    "circle": 0.95,
    "square": 0.75 * math.sqrt(2),
    "triangle": 2 * 0.58,
    "cross": math.hypot(0.95, 0.26),
    "star": 1.0,
    "ring": 0.98,
}
