"""Checking entries against their images' headers (no pixels decoded): the image exists and
is readable, has the size its annotation declares, and every box lies inside it with a
non-zero size. Settles the size and channels every image is decoded to."""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from engine.data.annotations.records import Box, Entry, Parsed
from engine.data.core import DataError
from engine.data.folder import _GREY_MODES, _PIL_ERRORS, _reason
from engine.project import DatasetSpec

#: how far (pixels) a box may stick out of its image and still be clipped to it, for the
#: rounding of annotation tools; further out it is a bad annotation
TOLERANCE = 1.0
Progress = Callable[[str, int, int], None]


def check_images(parsed: Parsed, spec: DatasetSpec, progress: Progress | None = None) -> None:
    """Read every image header; leave out (or stop on) bad entries and boxes; set
    ``parsed.sizes``, ``width``, ``height`` and ``channels``."""
    problems = parsed.problems
    kept: list[Entry] = []
    sizes: list[tuple[int, int]] = []
    first: dict[tuple[int, int], Entry] = {}
    grey = True
    total = len(parsed.entries)
    for i, entry in enumerate(parsed.entries):
        if progress is not None and i % 256 == 0:
            progress("Checking images", i, total)
        try:
            with Image.open(entry.image) as im:
                size, mode = im.size, im.mode
        except _PIL_ERRORS as e:
            problems.add(entry.image, "the image", f"cannot read this image; it is damaged or "
                         f"not an image ({_reason(e)})")
            continue
        if entry.size is not None and tuple(entry.size) != size:
            problems.add(entry.where, entry.label, f"declares a {entry.size[0]}x{entry.size[1]} "
                         f"image but {entry.image.name} is {size[0]}x{size[1]}")
            continue
        entry.boxes = [b for b in (_checked(b, entry, size, problems) for b in entry.boxes) if b]
        entry.normalized = False
        kept.append(entry)
        sizes.append(size)
        first.setdefault(size, entry)
        grey = grey and mode in _GREY_MODES
    if not kept:
        shown = f" (first: {problems.shown[0]})" if problems.shown else ""
        raise DataError(f"{parsed.source}: no usable images; {problems.skipped} bad annotations "
                        f"were skipped{shown}")
    if spec.image_size is None and len(first) > 1:
        (a, ea), (b, eb) = list(first.items())[:2]
        raise DataError(f"{parsed.layout.images}: images have different sizes ({a[0]}x{a[1]} in "
                        f"{ea.name}, {b[0]}x{b[1]} in {eb.name}); set dataset.image_size so that "
                        "they are all resized to it (boxes and masks follow)")
    parsed.entries, parsed.sizes = kept, sizes
    parsed.width, parsed.height = (spec.image_size,) * 2 if spec.image_size else sizes[0]
    parsed.channels = 1 if spec.grayscale or grey else 3


def _checked(box: Box, entry: Entry, size: tuple[int, int], problems) -> Box | None:
    w, h = size
    if entry.normalized:
        box.x0, box.x1, box.y0, box.y1 = box.x0 * w, box.x1 * w, box.y0 * h, box.y1 * h
    where = f"({box.x0:g}, {box.y0:g}, {box.x1:g}, {box.y1:g})"
    if box.x1 - box.x0 <= 0 or box.y1 - box.y0 <= 0:
        problems.add(box.file, box.entry, f"the box {where} has zero size (x1 must be above x0, "
                     "y1 above y0)")
        return None
    if (box.x0 < -TOLERANCE or box.y0 < -TOLERANCE or box.x1 > w + TOLERANCE
            or box.y1 > h + TOLERANCE):
        problems.add(box.file, box.entry, f"the box {where} lies outside the {w}x{h} image "
                     f"{entry.image.name}")
        return None
    box.x0, box.y0 = max(box.x0, 0.0), max(box.y0, 0.0)
    box.x1, box.y1 = min(box.x1, float(w)), min(box.y1, float(h))
    if box.x1 - box.x0 <= 0 or box.y1 - box.y0 <= 0:
        problems.add(box.file, box.entry, f"the box {where} has zero size inside the image")
        return None
    return box
