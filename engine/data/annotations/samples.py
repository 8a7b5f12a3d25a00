"""Preview samples: a few images with their masks or boxes, at the size the model sees."""

from __future__ import annotations

import numpy as np
import torch

from engine.data.annotations import VisionSample
from engine.data.annotations.decode import image_pixels, model_boxes, model_mask
from engine.data.annotations.records import Parsed
from engine.data.annotations.summary import summarize_targets
from engine.data.core import DataError
from engine.data.scenes import DET_CLASSES, SEG_CLASSES
from engine.project import DatasetSpec

_POOL = 256  # built-in previews draw from the first images (one generation chunk)


def _pick(n: int, count: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(n, size=min(count, n), replace=False).tolist())


def _boxes(rows: np.ndarray) -> list[tuple[int, float, float, float, float]]:
    return [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows if r[0] >= 0]


def file_samples(parsed: Parsed, count: int, seed: int) -> list[VisionSample]:
    """Samples of a read set; an entry whose image or mask turns out bad is left out."""
    samples = []
    for i in _pick(len(parsed.entries), count, seed):
        entry = parsed.entries[i]
        mask, boxes = None, []
        if parsed.target == "mask":
            mask = model_mask(parsed, i)
            if mask is None:
                continue
        else:
            boxes = _boxes(model_boxes(parsed, i))
        try:
            image = image_pixels(entry, 3, parsed.width, parsed.height)
        except ValueError as e:
            parsed.problems.add(entry.image, "the image", f"cannot read this image ({e})")
            continue
        samples.append(VisionSample(image, mask, boxes, entry.name))
    return samples


def builtin_samples(spec: DatasetSpec, count: int, seed: int) -> list[VisionSample]:
    """Samples of a generated set (``builtin:shapes_seg``, ``builtin:shapes_det``), drawn
    by ``seed`` from its first images (a chunk of them costs what one image does)."""
    from engine.data.builtin import scenes_of

    seg = _builtin_target(spec) == "mask"
    scenes = scenes_of(spec, max(count, _POOL))
    samples = []
    for i in _pick(len(scenes.images), count, seed):
        image = (np.clip(scenes.images[i], 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)
        if seg:
            samples.append(VisionSample(image, scenes.masks[i].copy(), [], f"#{i}"))
        else:
            samples.append(VisionSample(image, None, _boxes(scenes.boxes[i]), f"#{i}"))
    return samples


def builtin_summary(spec: DatasetSpec) -> dict:
    """The import summary of a generated set, from its targets (no torch data set made)."""
    from engine.data.builtin import scenes_of

    target = _builtin_target(spec)
    scenes = scenes_of(spec)
    y = scenes.masks if target == "mask" else scenes.boxes
    names = SEG_CLASSES if target == "mask" else DET_CLASSES
    return summarize_targets(torch.from_numpy(y), target, list(names))


def _builtin_target(spec: DatasetSpec) -> str:
    target = {"shapes_seg": "mask", "shapes_det": "boxes"}.get(spec.name)
    if target is None:
        raise DataError(f"builtin:{spec.name}: not a segmentation or detection set; choose "
                        "shapes_seg or shapes_det")
    return target
