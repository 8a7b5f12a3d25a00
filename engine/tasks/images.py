"""Pictures of samples as PNG bytes, with Pillow (no torchvision): image grids, masks laid
over their image in one colour per class, and boxes drawn with their class names.

The class colours and the mask overlay follow the app's gallery (app/panels/vision_draw.py,
app/widgets/plot_style.py), so a class has the same colour in a run's samples as in its
evaluation; the engine cannot import the app, hence the copy of the palette here.
"""

from __future__ import annotations

import colorsys
import io
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from engine.data import iter_batches
from engine.palette import CLASS_COLORS  # class k in colour k, as the app draws it

MASK_ALPHA = 0.7
#: under a mask the picture is shown in grey, dimmed, so that the class colours stand out
#: on colourful scenes: grey * BASE_GAIN + BASE_LIFT
BASE_GAIN, BASE_LIFT = 0.55, 40.0
PAD_GREY = 128


def grid_png(images: torch.Tensor, nrow: int = 8, pad: int = 2, scale: int = 2) -> bytes:
    """PNG of ``images`` [N, C, H, W] with values in [0, 1] (clamped), ``nrow`` per row.

    One or three channels are drawn as grey or RGB; other channel counts show channel 0.
    """
    x = images.detach().float().cpu().clamp(0, 1)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.shape[1] not in (1, 3):
        x = x[:, :1]
    arr = (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    return tile_png(arr[..., 0] if arr.shape[-1] == 1 else arr, nrow, pad, scale)


def tile_png(tiles: Sequence[np.ndarray] | np.ndarray, nrow: int = 8, pad: int = 2,
             scale: int = 1) -> bytes:
    """PNG of equally sized uint8 pictures ([H, W] grey or [H, W, 3] RGB), ``nrow`` per
    row, ``pad`` grey pixels apart, then scaled up ``scale`` times (nearest neighbour:
    small images stay sharp)."""
    arr = np.stack([np.asarray(t, dtype=np.uint8) for t in tiles])
    n, h, w = arr.shape[:3]
    cols = max(1, min(nrow, n))
    rows = max(1, -(-n // cols))
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, *arr.shape[3:]),
                   PAD_GREY, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top:top + h, left:left + w] = arr[i]
    img = Image.fromarray(grid, mode="L" if grid.ndim == 2 else "RGB")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    # zlib level 3: a third of the default's time on noisy pictures (a sample is written
    # every epoch) for files about a tenth larger
    img.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def rgb_images(images: torch.Tensor) -> np.ndarray:
    """``images`` [N, C, H, W] with values in [0, 1] (clamped) as uint8 RGB [N, H, W, 3]:
    one channel repeated as grey, other counts but three show channel 0."""
    x = images.detach().float().cpu().clamp(0, 1)
    if x.shape[1] != 3:
        x = x[:, :1].expand(-1, 3, -1, -1)
    return (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)


def upscale_factor(height: int, width: int, target: int) -> int:
    """How many times to enlarge a picture so that its longer side nears ``target``
    pixels (at least 1): 64-pixel scenes are too small to see on screen."""
    return max(1, target // max(1, height, width))


def class_colors(count: int) -> np.ndarray:
    """One RGB colour per class (uint8 [count, 3]): the plots' palette for the first ten,
    then hues spread by the golden ratio, as the app's evaluation gallery colours them."""
    out = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in CLASS_COLORS[:count]]
    for i in range(count - len(out)):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.65, 0.9)
        out.append((round(r * 255), round(g * 255), round(b * 255)))
    return np.array(out, dtype=np.uint8).reshape(-1, 3)


def is_background(name: str) -> bool:
    """A class drawn without a tint: the picture shows through where nothing was found."""
    return name.strip().lower() in ("background", "_background_", "bg")


def overlay_masks(images: np.ndarray, masks: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """``masks`` (class per pixel, [N, H, W]) laid over ``images`` (uint8 [N, H, W, 3]) in
    the class colours, the picture in dimmed grey beneath; the background class and values
    past the classes are not tinted."""
    count = min(len(classes), 255)
    rgb = np.zeros((256, 3), dtype=np.float32)
    alpha = np.zeros(256, dtype=np.float32)
    rgb[:count] = class_colors(count)
    alpha[:count] = [0.0 if is_background(n) else MASK_ALPHA for n in classes[:count]]
    m = np.clip(np.asarray(masks), 0, 255).astype(np.uint8)
    grey = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    base = (grey * BASE_GAIN + BASE_LIFT)[..., None]
    a = alpha[m][..., None]
    return (base * (1 - a) + rgb[m] * a + 0.5).astype(np.uint8)


@cache
def _font() -> Any:
    return ImageFont.load_default()


def draw_boxes(image: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[int],
               classes: Sequence[str], scale: int = 1) -> np.ndarray:
    """``image`` (uint8 [H, W, 3]) enlarged ``scale`` times, with each box (x0, y0, x1, y1
    in image pixels) outlined in its class colour and the class name on a tag of that
    colour above it (inside the box when there is no room above)."""
    img = Image.fromarray(image)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    colors = class_colors(max(len(classes), max(labels, default=-1) + 1))
    font = _font()
    for box, label in zip(boxes, labels, strict=True):
        color = tuple(int(v) for v in colors[label])
        x0, y0, x1, y1 = (round(v * scale) for v in box)
        draw.rectangle((x0, y0, max(x1 - 1, x0), max(y1 - 1, y0)), outline=color, width=2)
        name = classes[label] if 0 <= label < len(classes) else str(label)
        left, top, right, bottom = draw.textbbox((0, 0), name, font=font)
        tw, th = right - left + 4, bottom - top + 2
        tx = min(max(x0, 0), max(img.width - tw, 0))
        ty = y0 - th if y0 - th >= 0 else y0 + 2
        draw.rectangle((tx, ty, tx + tw - 1, ty + th - 1), fill=color)
        light = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] > 140
        draw.text((tx + 2 - left, ty + 1 - top), name, font=font,
                  fill=(0, 0, 0) if light else (255, 255, 255))
    return np.asarray(img)


def first_samples(split: Any, count: int, device: torch.device | str
                  ) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """The first ``count`` samples of ``split`` in stored order, on ``device`` (None when
    the split is empty). torch's global random state is left as it was: a streaming
    split's DataLoader seeds its workers from it, and samples must not change training."""
    if len(split) == 0:
        return None
    with torch.random.fork_rng(devices=[]):
        batches = iter_batches(split, min(count, len(split)), shuffle=False, device=device)
        try:
            return next(batches)
        finally:
            batches.close()
