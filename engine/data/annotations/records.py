"""What the annotation readers hand on: one :class:`Entry` per image, the :class:`Problems`
met on the way, and the :class:`Parsed` set they make together.

Readers never raise on a bad entry themselves: they report it to :class:`Problems`, which
stops with a :class:`DataError` naming the file and the entry (``bad_entries="stop"``)
or leaves the entry out and counts it (``"skip"``). So both modes go through one path and
one message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.core import DataError

#: how many problems a summary lists (the count covers them all)
SHOWN_PROBLEMS = 20
STOP_HINT = "fix it, or set Bad annotations (dataset.bad_entries) to Skip to leave such entries out"
#: the mask value of pixels that count for no class (loss and metrics leave them out)
IGNORE = 255


class Problems:
    """Bad annotations met while reading: raised at once (``mode="stop"``) or counted."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.skipped = 0
        self.shown: list[str] = []

    def add(self, file: str | Path, entry: str, what: str) -> None:
        """Report one bad entry: ``file`` holds it, ``entry`` says which one (``"line 3"``,
        ``"object 2 ('dog')"``), ``what`` is a sentence on what is wrong."""
        text = f"{file}: {entry}: {what}"
        if self.mode == "stop":
            raise DataError(f"{text}; {STOP_HINT}")
        self.skipped += 1
        if len(self.shown) < SHOWN_PROBLEMS:
            self.shown.append(text)


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
