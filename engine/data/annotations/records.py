"""What the annotation readers hand on: one :class:`Entry` per image, the
:class:`~engine.data.problems.Problems` met on the way (stop or skip, as every reader), and
the :class:`Parsed` set they make together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.problems import Problems

#: the mask value of pixels that count for no class (loss and metrics leave them out)
IGNORE = 255
#: the vision form calls ``dataset.bad_entries`` "Bad annotations"; its summary lists 20
SETTING = "Bad annotations"
SHOWN_PROBLEMS = 20


def annotation_problems(mode: str) -> Problems:
    """The :class:`~engine.data.problems.Problems` of an annotated image set, worded as
    the vision dataset form names the setting."""
    return Problems(mode, setting=SETTING, keep=SHOWN_PROBLEMS)


@dataclass
class Box:
    """One box in the pixels of its original image, with where it came from."""

    cls: int
    x0: float
    y0: float
    x1: float
    y1: float
    file: str
    entry: str


@dataclass
class Shape:
    """One COCO segmentation (polygons or RLE) of class value ``value``."""

    value: int
    segmentation: Any
    file: str
    entry: str


@dataclass
class Entry:
    """One image and its annotations.

    ``size`` is the (width, height) the annotation file declares (checked against the
    image); ``normalized`` boxes (YOLO) are fractions of the image size until the image's
    header is read. ``where`` and ``label`` name the annotation file and the entry in it
that image-level problems are reported against."""

    image: Path
    name: str
    where: str
    label: str = "the image"
    size: tuple[int, int] | None = None
    boxes: list[Box] = field(default_factory=list)
    normalized: bool = False
    mask: Path | None = None
    shapes: list[Shape] = field(default_factory=list)


@dataclass
class Layout:
    """Where a set's images and annotations are, and their format: "masks" (a folder of PNG
    masks), "coco" (a JSON file), "voc" (a folder of XML files) or "yolo" (.txt files)."""

    fmt: str
    images: Path
    annotations: Path


@dataclass
class Parsed:
    """A read set: entries in a fixed order, the class names, and (after the headers were
    checked) the channels and size every image is decoded to."""

    source: str
    target: str
    layout: Layout
    entries: list[Entry]
    classes: list[str]
    problems: Problems
    masks: Any = None  # a masks.MaskReader for mask folders
    channels: int = 3
    width: int = 0
    height: int = 0
    sizes: list[tuple[int, int]] = field(default_factory=list)  # per entry, original (w, h)
