"""Segmentation and detection data in the dataset panel: which specs they are, and the
background job that reads what the panel shows of them (the import summary and a few
annotated samples), through the engine's ``engine.data.annotations`` (``summary`` and
``preview``), so the panel never decodes the whole data set to preview it.

Nothing here touches a widget: the job returns plain values (numpy arrays, lists, the
summary's JSON-like dict); the drawing is ``dataset_vision_views``' business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.project import DatasetSpec

#: the built-in sets of drawn scenes and what their samples carry
VISION_BUILTINS = {"shapes_seg": "mask", "shapes_det": "boxes"}
#: the file sources and what their samples carry
VISION_SOURCES = {"segmentation": "mask", "detection": "boxes"}
PREVIEW_SAMPLES = 12
FORMAT_NAMES = {"masks": "PNG masks", "coco": "COCO JSON", "voc": "Pascal VOC XML",
                "yolo": "YOLO text files"}


def vision_target(spec: DatasetSpec) -> str:
    """"mask" (segmentation), "boxes" (detection) or "" for any other data."""
    if spec.source == "builtin":
        return VISION_BUILTINS.get(spec.name, "")
    return VISION_SOURCES.get(spec.source, "")


@dataclass
class VisionData:
    """What the panel shows of segmentation or detection data.

    ``samples`` are the engine's ``VisionSample``s: ``image`` uint8 [H, W, 3], ``mask``
    uint8 [H, W] or None, ``boxes`` [(class, x0, y0, x1, y1)] in the image's pixels and a
    ``name``. ``summary`` is the engine's import summary (images, classes, boxes or pixels
    per class, images without boxes, box sizes, skipped entries and their problems)."""

    target: str
    classes: list[str]
    summary: dict[str, Any]
    samples: list[Any] = field(default_factory=list)
    #: files: where the annotations were found and their format, for the user to check
    #: ("masks/ (PNG masks)"); "" for the built-in sets
    found: str = ""


def train_size(images: int, spec: DatasetSpec) -> int:
    """How many of ``images`` the split gives to training (the loader's own split)."""
    from engine.data.core import split_indices

    train, _val, _test = split_indices(images, spec.val_fraction, spec.test_fraction,
                                       spec.split_seed, spec.describe())
    return len(train)


def describe(spec: DatasetSpec, data: VisionData, train: int) -> str:
    """One line for the panel's status, like a loaded bundle's ``describe()``."""
    s = data.summary
    images = int(s.get("images", 0))
    what = "masks" if data.target == "mask" else "boxes"
    return (f"{spec.describe()}: {images} images ({train} train / {images - train} val and "
            f"test), {len(data.classes)} classes, {what}")


def load(spec: DatasetSpec, count: int = PREVIEW_SAMPLES) -> tuple[VisionData, int]:
    """The summary and ``count`` samples of ``spec`` (worker thread), and the train size.

    Raises the engine's ``DataError`` (a sentence naming the file and entry) for a bad
    folder or annotation; the panel shows it."""
    from engine.data.annotations import preview, summary

    target = vision_target(spec)
    s = summary(spec)
    samples = preview(spec, count=count, seed=spec.split_seed)
    data = VisionData(target, [str(c) for c in s.get("classes", [])], s, list(samples),
                      found_annotations(spec))
    return data, train_size(int(s.get("images", 0)), spec)


def found_annotations(spec: DatasetSpec) -> str:
    """Where the annotations of a file set are and their format: the layout the engine
    read (found beside the images when ``spec.annotations`` is empty)."""
    if spec.source == "builtin":
        return ""
    from engine.data.annotations.layout import find_layout

    layout = find_layout(Path(spec.path).expanduser(), spec.annotations, vision_target(spec))
    where = layout.annotations
    try:  # beside the images: a short path reads better than the whole one
        where = where.relative_to(Path(spec.path).expanduser().parent)
    except ValueError:
        pass
    suffix = "/" if layout.annotations.is_dir() else ""
    return f"{where}{suffix} ({FORMAT_NAMES.get(layout.fmt, layout.fmt)})"
