"""Procedurally drawn scenes: the built-in ``shapes_seg`` and ``shapes_det`` data sets.

Each RGB image holds one to four shapes of the six classes of :mod:`engine.data.shapes`
(the same signed distance functions) at random positions, sizes, rotations and colours on
a randomly tinted, noisy background. The segmentation mask and the boxes come from the
geometry itself, so they are exact: a pixel belongs to a shape when the shape covers at
least half of it (the anti-aliased edge is cut at the 0.5 level), and a box is the
tight extent of the pixels its shape owns in the mask.

Shapes may touch but overlap little (their enclosing circles may overlap by at most a
fifth of their radii), so no shape is hidden and every box stays a fair target.

Generation is vectorised with numpy over chunks of images, each chunk from its own random
stream ``(seed, chunk)``: image ``i`` is the same whatever the number of images asked for,
so a preview of the first images shows the first images of the data set. numpy only (no
torch), so previews and summaries stay light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.data.shapes import SHAPE_CLASSES, SHAPE_RADIUS, signed_distance

MAX_SHAPES = 4
#: class names of the segmentation set (mask value k) and the detection set (box class k)
SEG_CLASSES = ["background", *SHAPE_CLASSES]
DET_CLASSES = list(SHAPE_CLASSES)
MIN_SIZE = 16  # below this, the smallest shapes are a few pixels and no longer recognisable

_CHUNK = 256  # images per random stream; also bounds the temporary arrays
_TRIES = 40  # placement attempts per shape before it is left out
_SPACING = 0.8  # centres at least this fraction of the two enclosing radii apart
_MIN_CONTRAST = 0.3  # least mean channel difference between a shape and the background


@dataclass
class Scenes:
    """Images and their exact annotations.

    ``images``: float32 [N, 3, S, S] in [0, 1]; ``masks``: uint8 [N, S, S], 0 the
    background and ``k + 1`` shape class ``k``; ``boxes``: float32 [N, MAX_SHAPES, 5],
    rows ``(class, x0, y0, x1, y1)`` in pixels (pixel edges, 0..S), valid rows first,
    unused rows all -1.
    """

    images: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray


def draw_scenes(n: int, size: int, seed: int, noise: float = 0.05) -> Scenes:
    """``n`` scenes of ``size`` x ``size`` pixels, deterministic by ``seed``; the first
    ``k`` scenes are the same for every ``n >= k``."""
    if size < MIN_SIZE:
        raise ValueError(f"scenes need images of at least {MIN_SIZE} pixels, not {size}")
    images = np.empty((n, 3, size, size), dtype=np.float32)
    masks = np.empty((n, size, size), dtype=np.uint8)
    boxes = np.empty((n, MAX_SHAPES, 5), dtype=np.float32)
    for c, lo in enumerate(range(0, n, _CHUNK)):
        hi = min(n, lo + _CHUNK)
        rng = np.random.default_rng([seed, c])
        # a chunk is drawn whole, so image i does not depend on n
        part = _draw_chunk(_CHUNK, size, rng, noise)
        images[lo:hi] = part.images[: hi - lo].transpose(0, 3, 1, 2)
        masks[lo:hi], boxes[lo:hi] = part.masks[: hi - lo], part.boxes[: hi - lo]
    return Scenes(images, masks, boxes)


def _draw_chunk(n: int, size: int, rng: np.random.Generator, noise: float) -> Scenes:
    count = rng.permutation(np.arange(n) % MAX_SHAPES) + 1  # 1..4 shapes equally often
    radius, cx, cy, active = _place(count, size, rng)
    # classes go to the shapes that found a place, evenly: each class as often as another
    cls = np.full((n, MAX_SHAPES), -1, dtype=np.int64)
    cls[active] = rng.permutation(np.arange(int(active.sum())) % len(SHAPE_CLASSES))
    angle = rng.uniform(0, 2 * math.pi, (n, MAX_SHAPES)).astype(np.float32)
    background = rng.uniform(0.05, 0.95, (n, 3)).astype(np.float32)
    tilt = rng.uniform(-0.15, 0.15, (n, 2, 3)).astype(np.float32)  # a gentle colour gradient
    colour = _contrasting(rng.uniform(0.0, 1.0, (n, MAX_SHAPES, 3)).astype(np.float32), background)

    ramp = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    image = (background[:, None, None, :] + ramp[None, :, None, None] * tilt[:, None, None, 0]
             + ramp[None, None, :, None] * tilt[:, None, None, 1])  # [n, S(y), S(x), 3]
    owner = np.full((n, size, size), -1, dtype=np.int8)  # which slot owns each pixel
    for k in range(MAX_SHAPES):
        sel = np.nonzero(active[:, k])[0]
        if len(sel):
            _paint(image, owner, sel, k, radius[sel, k], cx[sel, k], cy[sel, k],
                   angle[sel, k], cls[sel, k], colour[sel, k])
    if noise > 0:  # the chunk's last draw: skipping it changes nothing else
        grain = rng.standard_normal(image.shape, dtype=np.float32)
        grain *= noise
        image += grain
    np.clip(image, 0.0, 1.0, out=image)

    labels = np.zeros(owner.shape, dtype=np.uint8)
    for k in range(MAX_SHAPES):
        labels += (owner == k) * (cls[:, k, None, None] + 1).astype(np.uint8)
    return Scenes(image, labels, _boxes(owner, cls))  # images still [n, S, S, 3] here


def _place(count: np.ndarray, size: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Enclosing radius and centre (pixels) of each slot, and which slots hold a shape.

    Busier images get smaller shapes; a shape that finds no place clear of the ones before
    it within ``_TRIES`` attempts is left out (none in 2048 images of 64 pixels)."""
    n = len(count)
    r_hi = size * (0.27 - 0.03 * count)  # 0.24 of the side for one shape, 0.15 for four
    r_lo = np.full(n, 0.1 * size)
    radius = np.zeros((n, MAX_SHAPES), dtype=np.float32)
    cx = np.zeros_like(radius)
    cy = np.zeros_like(radius)
    active = np.arange(MAX_SHAPES)[None, :] < count[:, None]
    for k in range(MAX_SHAPES):
        todo = active[:, k].copy()
        for _ in range(_TRIES):
            rows = np.nonzero(todo)[0]
            if len(rows) == 0:
                break
            r = rng.uniform(r_lo[rows], r_hi[rows]).astype(np.float32)
            x = rng.uniform(r, size - r).astype(np.float32)
            y = rng.uniform(r, size - r).astype(np.float32)
            prev = active[rows, :k]  # slots before k that hold a shape
            gap = np.hypot(x[:, None] - cx[rows, :k], y[:, None] - cy[rows, :k])
            clear = (~prev | (gap >= _SPACING * (r[:, None] + radius[rows, :k]))).all(axis=1)
            ok = rows[clear]
            radius[ok, k], cx[ok, k], cy[ok, k] = r[clear], x[clear], y[clear]
            todo[ok] = False
        active[todo, k] = False
    return radius, cx, cy, active


def _contrasting(colour: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Shape colours, moved half the range away from the background in every channel
    where a colour is too close to its background to be seen."""
    bg = background[:, None, :]
    close = np.abs(colour - bg).mean(axis=2, keepdims=True) < _MIN_CONTRAST
    away = np.where(bg > 0.5, bg - 0.5, bg + 0.5)
    return np.where(close, away, colour)


def _paint(image: np.ndarray, owner: np.ndarray, sel: np.ndarray, slot: int,
           radius: np.ndarray, cx: np.ndarray, cy: np.ndarray, angle: np.ndarray,
           cls: np.ndarray, colour: np.ndarray) -> None:
    """Draw slot ``slot``'s shapes of images ``sel`` over what is there, in a square
    window around each shape (the shape fits in it), and mark the pixels they own."""
    size = image.shape[1]
    window = min(size, math.ceil(2 * float(radius.max())) + 2)
    steps = np.arange(window)
    oy = np.clip(np.floor(cy - window / 2).astype(np.int64), 0, size - window)
    ox = np.clip(np.floor(cx - window / 2).astype(np.int64), 0, size - window)
    rows = oy[:, None] + steps  # [m, window]
    cols = ox[:, None] + steps
    # pixel centres relative to the shape centre, in pixels
    dy = (rows + 0.5 - cy[:, None]).astype(np.float32)[:, :, None]
    dx = (cols + 0.5 - cx[:, None]).astype(np.float32)[:, None, :]
    cover = np.empty((len(sel), window, window), dtype=np.float32)
    for k, name in enumerate(SHAPE_CLASSES):
        of = np.nonzero(cls == k)[0]
        if len(of) == 0:
            continue
        scale = (radius[of] / SHAPE_RADIUS[name])[:, None, None]  # pixels per local unit
        c, s = np.cos(angle[of])[:, None, None], np.sin(angle[of])[:, None, None]
        px = (c * dx[of] + s * dy[of]) / scale
        py = (-s * dx[of] + c * dy[of]) / scale
        # one pixel of anti-aliasing: coverage 0.5 exactly on the edge
        cover[of] = np.clip(0.5 - signed_distance(name, px, py) * scale, 0.0, 1.0)
    # flat pixel numbers: one gather and one scatter of whole RGB rows
    at = ((sel[:, None, None] * size + rows[:, :, None]) * size + cols[:, None, :]).ravel()
    pixels, owners = image.reshape(-1, 3), owner.reshape(-1)
    alpha = cover.reshape(-1, 1)
    under = pixels[at]
    pixels[at] = under + (colour.repeat(window * window, axis=0) - under) * alpha
    owners[at] = np.where(alpha[:, 0] >= 0.5, np.int8(slot), owners[at])


def _boxes(owner: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Tight boxes of the pixels each slot owns; slots owning none become -1 rows, and
    valid rows come first."""
    n, size, _ = owner.shape
    boxes = np.full((n, MAX_SHAPES, 5), -1.0, dtype=np.float32)
    for k in range(MAX_SHAPES):
        mine = owner == k
        in_row, in_col = mine.any(axis=2), mine.any(axis=1)  # [n, S] each
        has = in_row.any(axis=1)
        y0, y1 = in_row.argmax(axis=1), size - in_row[:, ::-1].argmax(axis=1)
        x0, x1 = in_col.argmax(axis=1), size - in_col[:, ::-1].argmax(axis=1)
        row = np.stack([cls[:, k], x0, y0, x1, y1], axis=1).astype(np.float32)
        boxes[has, k] = row[has]
    order = np.argsort(boxes[:, :, 0] < 0, axis=1, kind="stable")
    return np.take_along_axis(boxes, order[:, :, None], axis=1)
