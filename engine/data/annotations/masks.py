"""Segmentation masks as PNG files, matched to their images by file name.

A mask holds a class per pixel, either as the pixel value itself (modes L and P: value k is
class k; P is what VOC's ``SegmentationClass`` uses) or as a colour (RGB): colours map to
classes through a labels file of ``name r g b`` lines, or, without one, in the sorted order
of the colours found in the masks. The value 255 (or an "ignore"/"void" colour) marks
pixels of no class and is kept as 255.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.annotations.labels import layout_labels
from engine.data.annotations.layout import key_of, list_files, list_images
from engine.data.annotations.records import IGNORE, Entry, Layout
from engine.data.core import DataError
from engine.data.folder import _PIL_ERRORS, _reason
from engine.data.problems import Problems

_INDEX_MODES = {"1", "L", "P", "I", "I;16", "I;16B", "I;16L", "LA", "PA"}
#: a mask pixel whose colour is in no class
UNKNOWN = -1
#: colour masks without a labels file: more colours than this are not flat class colours
MAX_COLOURS = 255


class BadMask(Exception):
    """A mask file that cannot be read (reported as a problem of its entry)."""


class MaskReader:
    """Turns a mask file into class values (int32 [H, W]; :data:`UNKNOWN` for a colour
    of no class). ``colours`` maps (r, g, b) to a class value for colour masks."""

    def __init__(self, colours: dict[tuple[int, int, int], int] | None) -> None:
        self.colours = colours or {}
        codes = sorted(self.colours)
        self._codes = np.array([_code(c) for c in codes], dtype=np.int64)
        self._values = np.array([self.colours[c] for c in codes], dtype=np.int32)

    def values(self, path: Path) -> np.ndarray:
        """The class value of every pixel of the mask at ``path``."""
        try:
            with Image.open(path) as im:
                if im.mode in _INDEX_MODES:
                    band = im.getchannel(0) if im.mode in ("LA", "PA") else im
                    return np.asarray(band).astype(np.int32)
                rgb = np.asarray(im.convert("RGB"))
        except _PIL_ERRORS as e:
            raise BadMask(f"cannot read this mask; it is damaged or not an image ({_reason(e)})") from None
        if _is_grey(rgb):
            return rgb[..., 0].astype(np.int32)
        codes = _codes_of(rgb)
        if not len(self._codes):
            raise BadMask("this is a colour mask, but the labels file gives no colours; write "
                          "its lines as 'name r g b' (the class's mask colour)")
        at = np.searchsorted(self._codes, codes).clip(0, len(self._codes) - 1)
        found = self._codes[at] == codes
        return np.where(found, self._values[at], UNKNOWN).astype(np.int32)


def _code(rgb: tuple[int, int, int]) -> int:
    return (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]


def _codes_of(rgb: np.ndarray) -> np.ndarray:
    a = rgb.astype(np.int64)
    return (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]


def _is_grey(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def parse_masks(spec_labels: str, base: Path, layout: Layout,
                problems: Problems) -> tuple[list[Entry], list[str], MaskReader]:
    """Pair images with masks and settle the class names.

    Class names come from the labels file (``dataset.labels``, else ``labels.txt`` or
    ``classes.txt`` beside the masks or images); without one they are "class 0", "class
    1", ... up to the largest value found in the masks, or one per colour found in colour
    masks (so the masks are read only when there is no labels file)."""
    root = layout.annotations
    labels = layout_labels(spec_labels, base, layout)
    images = list_images(layout.images, skip=(root,))
    masks = list_files(root, {".png"})
    by_key = {key_of(m, root): m for m in masks}
    by_stem: dict[str, list[Path]] = {}
    for m in masks:
        by_stem.setdefault(m.stem, []).append(m)
    entries: list[Entry] = []
    used: set[Path] = set()
    for image in images:
        key = key_of(image, layout.images)
        mask = by_key.get(key)
        if mask is None and len(by_stem.get(image.stem, ())) == 1:
            mask = by_stem[image.stem][0]
        if mask is None or mask in used:
            problems.add(image, "its mask", f"no mask {Path(key).name}.png in {root}")
            continue
        used.add(mask)
        entries.append(Entry(image, image.relative_to(layout.images).as_posix(), str(mask),
                             mask=mask))
    for mask in masks:
        if mask not in used:
            problems.add(mask, "the mask", f"no image with this name in {layout.images}")
    if not entries and not problems.skipped:
        raise DataError(f"{layout.images}: no images with masks; name each mask like its image "
                        f"(photo.jpg -> {root.name}/photo.png)")
    if labels is not None:
        reader, names = MaskReader(labels.colours), list(labels.names)
    else:
        colours = _scan_colours(entries)
        reader = MaskReader(colours)
        count = max(_largest_value(entries, reader, problems) + 1, len(colours or ()))
        names = [f"class {k}" for k in range(max(count, 1))]
    if len(names) > IGNORE:
        raise DataError(f"{labels.path if labels else root}: {len(names)} classes, but mask "
                        f"values go up to 254 (255 marks pixels of no class)")
    return entries, names, reader


def _scan_colours(entries: list[Entry]) -> dict[tuple[int, int, int], int] | None:
    """The classes of colour masks with no labels file: every colour found, in sorted order
    (black first, so a black background is class 0); None when no mask is in colour."""
    found: set[int] = set()
    coloured = False
    for entry in entries:
        assert entry.mask is not None
        try:
            with Image.open(entry.mask) as im:
                if im.mode in _INDEX_MODES:
                    continue
                rgb = np.asarray(im.convert("RGB"))
        except _PIL_ERRORS:
            continue  # reported when the mask is read for its values
        if _is_grey(rgb):
            continue
        coloured = True
        found.update(np.unique(_codes_of(rgb)).tolist())
        if len(found) > MAX_COLOURS:
            raise DataError(f"{entry.mask}: the colour masks hold more than {MAX_COLOURS} colours; "
                            "masks must be drawn in flat class colours (no smoothing, no JPEG), "
                            "or give a labels file of 'name r g b' lines")
    if not coloured:
        return None
    return {((c >> 16) & 255, (c >> 8) & 255, c & 255): k for k, c in enumerate(sorted(found))}


def _largest_value(entries: list[Entry], reader: MaskReader, problems: Problems) -> int:
    """The largest class value in the masks (255 left out); unreadable masks are reported."""
    top = -1
    kept = []
    for entry in entries:
        assert entry.mask is not None
        try:
            values = reader.values(entry.mask)
        except BadMask as e:
            problems.add(entry.mask, "the mask", str(e))
            continue
        kept.append(entry)
        real = values[values != IGNORE]
        if real.size:
            top = max(top, int(real.max()))
    entries[:] = kept
    return top


def class_values(reader: MaskReader, entry: Entry, classes: int, problems: Problems,
                 size: tuple[int, int]) -> np.ndarray | None:
    """The mask of ``entry`` checked against its image (``size`` = width, height) and the
    classes; None (reported) when it is bad."""
    assert entry.mask is not None
    try:
        values = reader.values(entry.mask)
    except BadMask as e:
        problems.add(entry.mask, "the mask", str(e))
        return None
    h, w = values.shape
    if (w, h) != size:
        problems.add(entry.mask, "the mask", f"the mask is {w}x{h} but its image {entry.image.name} "
                     f"is {size[0]}x{size[1]}; a mask must have its image's size")
        return None
    bad = (values != IGNORE) & ((values < 0) | (values >= classes))
    if bad.any():
        shown = np.unique(values[bad])[:5].tolist()
        what = ("colours that no class has" if UNKNOWN in shown
                else "values " + ", ".join(str(v) for v in shown))
        problems.add(entry.mask, "the mask", f"{int(bad.sum())} pixels hold {what}; the "
                     f"{classes} classes are values 0-{classes - 1} (255: no class)")
        return None
    return values
