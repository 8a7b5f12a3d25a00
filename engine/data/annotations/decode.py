"""Decoding a checked set into tensors, all in memory.

Images are resized to the set's size with bilinear filtering (as image folders are), masks
with nearest neighbour (a class value never blends into another), boxes scaled by the same
factors. Targets are read first, one by one (a bad mask is reported in file order), then
the images on a thread pool (Pillow releases the GIL while decoding).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

from engine.data.annotations.coco import rasterise
from engine.data.annotations.masks import class_values
from engine.data.annotations.records import Entry, Parsed
from engine.data.core import DataError, number_option
from engine.data.folder import _PIL_ERRORS, _reason
from engine.data.limits import format_bytes
from engine.project import DatasetSpec

Progress = Callable[[str, int, int], None]


def original_mask(parsed: Parsed, i: int) -> np.ndarray | None:
    """Entry ``i``'s class values at its image's own size (None, reported, when bad)."""
    entry, size = parsed.entries[i], parsed.sizes[i]
    if entry.mask is not None:
        return class_values(parsed.masks, entry, len(parsed.classes), parsed.problems, size)
    return rasterise(entry, size, parsed.problems)


def model_mask(parsed: Parsed, i: int) -> np.ndarray | None:
    """Entry ``i``'s class values (uint8) at the size the model sees."""
    values = original_mask(parsed, i)
    if values is None:
        return None
    mask = Image.fromarray(values.astype(np.uint8), "L")
    if mask.size != (parsed.width, parsed.height):
        mask = mask.resize((parsed.width, parsed.height), Image.Resampling.NEAREST)
    return np.array(mask)


def model_boxes(parsed: Parsed, i: int) -> np.ndarray:
    """Entry ``i``'s boxes as float32 [m, 5] rows (class, x0, y0, x1, y1) in model pixels."""
    w, h = parsed.sizes[i]
    sx, sy = parsed.width / w, parsed.height / h
    rows = [(b.cls, b.x0 * sx, b.y0 * sy, b.x1 * sx, b.y1 * sy) for b in parsed.entries[i].boxes]
    return np.array(rows, dtype=np.float32).reshape(-1, 5)


def image_pixels(entry: Entry, channels: int, width: int, height: int) -> np.ndarray:
    """One image as uint8 [H, W, C]; raises ValueError with the reason when it is broken."""
    try:
        with Image.open(entry.image) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            if im.size != (width, height):
                im = im.resize((width, height), Image.Resampling.BILINEAR)
            arr = np.array(im, dtype=np.uint8)
    except _PIL_ERRORS as e:
        raise ValueError(_reason(e)) from None
    return arr[..., None] if arr.ndim == 2 else arr


def check_memory(parsed: Parsed, spec: DatasetSpec) -> None:
    """Refuse a set whose decoded tensors pass ``dataset.options.stream_threshold``:
    segmentation and detection sets are read into memory only."""
    from engine.data.loader import DEFAULT_STREAM_THRESHOLD

    limit = int(number_option(spec.options, "stream_threshold", DEFAULT_STREAM_THRESHOLD, 0, 2**62))
    pixels = len(parsed.entries) * parsed.width * parsed.height
    need = pixels * parsed.channels * 4 + (pixels * 8 if parsed.target == "mask" else 0)
    if need > limit:
        raise DataError(
            f"{parsed.source}: {len(parsed.entries):,} images of {parsed.width}x{parsed.height} "
            f"take {format_bytes(need)} decoded, more than the {format_bytes(limit)} held in "
            "memory (dataset.options.stream_threshold); segmentation and detection sets are not "
            "streamed from disk, so set a smaller dataset.image_size or use fewer images")


def decode(parsed: Parsed, spec: DatasetSpec,
           progress: Progress | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8 [N, C, H, W]) and targets (long masks [N, H, W] or float32 boxes
    [N, M, 5], unused rows -1) of every good entry."""
    check_memory(parsed, spec)
    keep: list[int] = []
    targets: list[np.ndarray] = []
    for i in range(len(parsed.entries)):
        target = model_mask(parsed, i) if parsed.target == "mask" else model_boxes(parsed, i)
        if target is not None:
            keep.append(i)
            targets.append(target)
    n, c, h, w = len(keep), parsed.channels, parsed.height, parsed.width
    x = np.empty((n, h, w, c), dtype=np.uint8)
    errors: list[str | None] = [None] * n

    def one(j: int) -> None:
        try:
            x[j] = image_pixels(parsed.entries[keep[j]], c, w, h)
        except ValueError as e:
            errors[j] = str(e)

    threads = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(threads) as pool:
        for done, _ in enumerate(pool.map(one, range(n)), start=1):
            if progress is not None and (done % 256 == 0 or done == n):
                progress("Reading images", done, n)
    good = []
    for j, error in enumerate(errors):
        if error is None:
            good.append(j)
        else:
            entry = parsed.entries[keep[j]]
            parsed.problems.add(entry.image, "the image", f"cannot read this image; it is "
                                f"damaged or not an image ({error})")
    if not good:
        raise DataError(f"{parsed.source}: no usable images; {parsed.problems.skipped} bad "
                        "annotations were skipped" + (f" (first: {parsed.problems.shown[0]})"
                                                      if parsed.problems.shown else ""))
    images = torch.from_numpy(x if len(good) == n else x[good]).permute(0, 3, 1, 2).contiguous()
    kept = [targets[j] for j in good]
    if parsed.target == "mask":
        return images, torch.from_numpy(np.stack(kept)).long()
    return images, stack_boxes(kept)


def stack_boxes(per_image: list[np.ndarray]) -> torch.Tensor:
    """Per-image [m, 5] box rows as one float32 tensor [N, M, 5], unused rows all -1."""
    most = max([len(b) for b in per_image] + [1])
    y = np.full((len(per_image), most, 5), -1.0, dtype=np.float32)
    for i, rows in enumerate(per_image):
        y[i, : len(rows)] = rows
    return torch.from_numpy(y)

