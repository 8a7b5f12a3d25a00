"""Users' segmentation and detection files: reading, checking, summary and preview.

A set is an images folder (``dataset.path``) and its annotations (``dataset.annotations``,
or found from the layout, see :mod:`.layout`): PNG masks or COCO polygons for segmentation;
COCO, Pascal VOC or YOLO boxes for detection. Reading goes in three steps: the annotation
files are parsed (:mod:`.masks`, :mod:`.coco`, :mod:`.voc`, :mod:`.yolo`), every image's
header is checked against them (:mod:`.check`), and only loading decodes the pixels
(:mod:`.decode`). So the facts the editor needs (:func:`vision_facts`) and the import
summary (:func:`summary`) come without decoding the images.

Bad annotations (a box outside its image or of zero size, an unknown class, a mask of
another size than its image or holding a value of no class, a missing image or mask file,
an unreadable file or line) stop loading with a message naming the file and the entry,
or with ``dataset.bad_entries = "skip"`` are left out and counted.

Tensors follow the vision contract: images [N, C, H, W]; masks long [N, H, W] with 255
for pixels of no class; boxes float32 [N, M, 5] rows (class, x0, y0, x1, y1) in model
pixels, unused rows -1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.annotations.check import check_images
from engine.data.annotations.records import Parsed, annotation_problems
from engine.data.annotations.summary import box_summary, mask_summary, summarize_targets
from engine.data.core import DataError
from engine.data.facts import DataFacts, model_channels
from engine.project import DatasetSpec

if TYPE_CHECKING:
    from engine.data.core import DataBundle

__all__ = ["SetPaths", "VisionSample", "load_vision", "preview", "read", "set_paths",
           "summarize_targets", "summary", "vision_facts"]

Progress = Callable[[str, int, int], None]
VISION_SOURCES = ("segmentation", "detection")


@dataclass
class VisionSample:
    """One image of a set as the model sees it (size, not normalisation), for previews:
    ``image`` uint8 [H, W, 3]; ``mask`` uint8 [H, W] class values (255: no class) or None;
    ``boxes`` (class, x0, y0, x1, y1) in the image's pixels."""

    image: np.ndarray
    mask: np.ndarray | None
    boxes: list[tuple[int, float, float, float, float]]
    name: str


def _target(spec: DatasetSpec) -> str:
    if spec.source not in VISION_SOURCES:
        raise DataError(f"{spec.source}: not a segmentation or detection source")
    return "mask" if spec.source == "segmentation" else "boxes"


def _images_path(spec: DatasetSpec) -> Path:
    if not spec.path.strip():
        raise DataError(f"{spec.source}: no images folder is set; choose the folder of images")
    return Path(spec.path).expanduser()


@dataclass
class SetPaths:
    """Every place a segmentation or detection set is read from: ``path`` (dataset.path,
    expanded), the ``images`` folder under it, the ``annotations`` (a folder, or a COCO
    .json file) and the class-names file (None when none is read)."""

    path: Path
    images: Path
    annotations: Path
    labels: Path | None


def set_paths(spec: DatasetSpec) -> SetPaths:
    """Where the set of ``spec`` is read from, found as :func:`read` finds it (annotations
    from the layout unless given; the labels file given, else detected in the folders its
    format's reader looks in), without reading the annotations. A remote run uploads these
    and nothing else."""
    from engine.data.annotations.labels import layout_labels
    from engine.data.annotations.layout import find_layout

    path = _images_path(spec)
    layout = find_layout(path, spec.annotations, _target(spec))
    labels = layout_labels(spec.labels, path, layout)
    return SetPaths(path, layout.images, layout.annotations, labels.path if labels else None)


def read(spec: DatasetSpec, progress: Progress | None = None) -> Parsed:
    """Parse the annotations of ``spec`` and check them against the image headers."""
    from engine.data.annotations.coco import parse_coco
    from engine.data.annotations.layout import find_layout
    from engine.data.annotations.masks import parse_masks
    from engine.data.annotations.voc import parse_voc
    from engine.data.annotations.yolo import parse_yolo

    target = _target(spec)
    path = _images_path(spec)
    layout = find_layout(path, spec.annotations, target)
    problems = annotation_problems(spec.bad_entries)
    masks = None
    if layout.fmt == "masks":
        entries, classes, masks = parse_masks(spec.labels, path, layout, problems)
    elif layout.fmt == "coco":
        entries, classes = parse_coco(layout, problems, target)
    elif layout.fmt == "voc":
        entries, classes = parse_voc(spec.labels, path, layout, problems)
    else:
        entries, classes = parse_yolo(spec.labels, path, layout, problems)
    parsed = Parsed(f"{spec.source}:{spec.path}", target, layout, entries, classes, problems, masks)
    check_images(parsed, spec, progress)
    return parsed


def _target_shape(parsed: Parsed) -> tuple[int, ...]:
    if parsed.target == "mask":
        return (parsed.height, parsed.width)
    return (max([len(e.boxes) for e in parsed.entries] + [1]), 5)


def vision_facts(spec: DatasetSpec) -> DataFacts:
    """What a segmentation or detection set gives a model, from its annotation files and
    image headers (no image is decoded)."""
    parsed = read(spec)
    return DataFacts(parsed.source, "image",
                     (model_channels(spec, parsed.channels), parsed.height, parsed.width),
                     "float", parsed.target, tuple(parsed.classes),
                     target_shape=_target_shape(parsed))


def load_vision(spec: DatasetSpec, progress: Progress | None = None) -> DataBundle:
    """Read, decode, split and normalise a segmentation or detection set (in memory)."""
    from engine.data.annotations.decode import decode
    from engine.data.loader import _bundle
    from engine.data.raw import Raw

    parsed = read(spec, progress)
    x, y = decode(parsed, spec, progress)
    shape = tuple(y.shape[1:])
    raw = Raw("image", x, y, parsed.target, parsed.source, classes=list(parsed.classes),
              target_shape=shape)
    bundle = _bundle(raw, spec)
    bundle.summary = summarize_targets(y, parsed.target, parsed.classes,
                                       parsed.problems.skipped, parsed.problems.shown)
    return bundle


def summary(spec: DatasetSpec) -> dict[str, Any]:
    """The import summary of ``spec`` (see :mod:`.summary`): for files from the annotations
    and headers (masks are read, images are not decoded); for the built-in sets from their
    generated targets."""
    if spec.source == "builtin":
        from engine.data.annotations.samples import builtin_summary

        return builtin_summary(spec)
    from engine.data.annotations.decode import model_boxes, original_mask

    parsed = read(spec)
    problems = parsed.problems
    if parsed.target == "boxes":
        boxes = [model_boxes(parsed, i) for i in range(len(parsed.entries))]
        return box_summary(boxes, parsed.classes, problems.skipped, problems.shown)
    counts = np.zeros(len(parsed.classes), dtype=np.int64)
    ignored = images = 0
    for i in range(len(parsed.entries)):
        values = original_mask(parsed, i)
        if values is None:
            continue
        images += 1
        labelled = values[values != 255]
        ignored += values.size - labelled.size
        counts += np.bincount(labelled.ravel(), minlength=len(counts))[: len(counts)]
    return mask_summary(counts, ignored, images, list(parsed.classes), problems.skipped,
                        problems.shown)


def preview(spec: DatasetSpec, count: int = 12, seed: int = 0) -> list[VisionSample]:
    """Up to ``count`` images drawn at random (by ``seed``) with their masks or boxes, at
    the size the model sees them (built-in sets: from their first images)."""
    from engine.data.annotations.samples import builtin_samples, file_samples

    if spec.source == "builtin":
        return builtin_samples(spec, count, seed)
    return file_samples(read(spec), count, seed)
