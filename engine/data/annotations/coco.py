"""COCO JSON: boxes for detection, polygons and RLE for segmentation.

Classes are the ``categories`` sorted by id; for segmentation value 0 is "background" and
category k (in that order) is value k + 1. Crowd annotations (``iscrowd: 1``) are left out
of detection targets (COCO's evaluation ignores them too) and painted like any other
region in masks. Image files are ``file_name`` under the images folder (or its base name
there). Segmentations are rasterised with Pillow's ImageDraw (polygons) and
faster-coco-eval's RLE decoder, in annotation order, so a later annotation paints over an
earlier one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from engine.data import limits
from engine.data.annotations.labels import read_text
from engine.data.annotations.records import Box, Entry, Layout, Shape
from engine.data.core import DataError
from engine.data.problems import Problems

MAX_JSON_BYTES = 2 * 1024**3


def parse_coco(layout: Layout, problems: Problems, target: str) -> tuple[list[Entry], list[str]]:
    """The entries (one per image record) and class names of a COCO file."""
    path = layout.annotations
    data = _load(path)
    names, value = _categories(data, path, first=1 if target == "mask" else 0)
    classes = ["background", *names] if target == "mask" else names
    if target == "mask" and len(classes) > 255:
        raise DataError(f"{path}: {len(names)} categories, but masks hold at most 254 classes "
                        "besides the background")
    entries: dict[int, Entry] = {}
    for i, record in enumerate(_list(data, "images", path)):
        entry = _image(record, i, layout, problems)
        if entry is not None:
            image_id = record["id"]
            if image_id in entries:
                problems.add(path, entry.label, f"a second image with id {image_id}")
                continue
            entries[image_id] = entry
    for i, ann in enumerate(_list(data, "annotations", path)):
        if not isinstance(ann, dict):
            problems.add(path, f"annotation #{i + 1}", "not a JSON object")
            continue
        label = f"annotation {ann['id']}" if _whole(ann.get("id")) else f"annotation #{i + 1}"
        image_id, category = ann.get("image_id"), ann.get("category_id")
        entry = entries.get(image_id) if _whole(image_id) else None
        if entry is None:
            problems.add(path, label, f"image_id {_short(image_id)} is not in the images list")
            continue
        label = f"{label} (image '{entry.name}')"
        k = value.get(category) if _whole(category) else None
        if k is None:
            problems.add(path, label, f"category_id {_short(category)} is not in the categories")
            continue
        if target == "mask":
            _add_shape(entry, ann, k, str(path), label, problems)
        elif not ann.get("iscrowd"):
            _add_box(entry, ann, k, str(path), label, problems)
    return list(entries.values()), classes


def _load(path: Path) -> dict[str, Any]:
    text = read_text(path, MAX_JSON_BYTES, "COCO file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: line {e.lineno}: not valid JSON ({e.msg})") from None
    except RecursionError:
        raise DataError(f"{path}: the JSON is nested too deeply to be a COCO file") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: a COCO file is a JSON object with 'images', 'annotations' and "
                        "'categories'")
    return data


def _list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise DataError(f"{path}: no '{key}' list; a COCO file has 'images', 'annotations' and "
                        "'categories' lists")
    return value


def _categories(data: dict[str, Any], path: Path, first: int) -> tuple[list[str], dict[int, int]]:
    found: dict[int, str] = {}
    for i, cat in enumerate(_list(data, "categories", path)):
        if not (isinstance(cat, dict) and _whole(cat.get("id")) and isinstance(cat.get("name"), str)):
            raise DataError(f"{path}: category #{i + 1}: needs a whole-number 'id' and a 'name'")
        if cat["id"] in found:
            raise DataError(f"{path}: category #{i + 1}: the id {cat['id']} is used twice")
        found[cat["id"]] = cat["name"]
    if not found:
        raise DataError(f"{path}: the 'categories' list is empty; it names the classes")
    if len(found) > limits.MAX_CLASSES:
        raise DataError(f"{path}: more than {limits.MAX_CLASSES:,} categories; LayerForge "
                        f"supports at most {limits.MAX_CLASSES:,} classes")
    ids = sorted(found)
    return [found[i] for i in ids], {cid: k + first for k, cid in enumerate(ids)}


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _image(record: Any, i: int, layout: Layout, problems: Problems) -> Entry | None:
    path = layout.annotations
    if not isinstance(record, dict):
        problems.add(path, f"image #{i + 1}", "not a JSON object")
        return None
    label = f"image {record.get('id', f'#{i + 1}')}"
    name, w, h = record.get("file_name"), record.get("width"), record.get("height")
    if not (_whole(record.get("id")) and isinstance(name, str) and name):
        problems.add(path, label, "needs a whole-number 'id' and a 'file_name'")
        return None
    label = f"image {record['id']} ('{name}')"
    size = (w, h) if _whole(w) and _whole(h) and w > 0 and h > 0 else None
    for candidate in (layout.images / name, layout.images / Path(name).name):
        if candidate.is_file():
            return Entry(candidate, name, str(path), label, size)
    problems.add(path, label, f"no such image file in {layout.images}")
    return None


def _add_box(entry: Entry, ann: dict[str, Any], k: int, file: str, label: str,
             problems: Problems) -> None:
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox)):
        problems.add(file, label, f"'bbox' must be [x, y, width, height], not {_short(bbox)}")
        return
    x, y, w, h = (float(v) for v in bbox)
    entry.boxes.append(Box(k, x, y, x + w, y + h, file, label))


def _add_shape(entry: Entry, ann: dict[str, Any], k: int, file: str, label: str,
               problems: Problems) -> None:
    seg = ann.get("segmentation")
    if isinstance(seg, list) and seg:
        for poly in seg:
            if not (isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0
                    and all(_number(v) for v in poly)):
                problems.add(file, label, "each polygon must be a list of x, y numbers with at "
                             f"least three points, not {_short(poly)}")
                return
    elif isinstance(seg, dict):
        counts, size = seg.get("counts"), seg.get("size")
        if not (isinstance(counts, (list, str)) and isinstance(size, list) and len(size) == 2
                and all(_whole(v) for v in size)):
            problems.add(file, label, "an RLE segmentation needs 'counts' and 'size': [height, width]")
            return
    else:
        problems.add(file, label, "no 'segmentation' polygons or RLE to paint the mask from")
        return
    entry.shapes.append(Shape(k, seg, file, label))


def _short(v: Any) -> str:
    text = json.dumps(v) if v is not None else "nothing"
    return text if len(text) <= 60 else text[:57] + "..."


def rasterise(entry: Entry, size: tuple[int, int], problems: Problems) -> np.ndarray:
    """The class values (uint8 [H, W], 0 = background) painted from ``entry``'s COCO
    segmentations on an image of ``size`` (width, height). A bad RLE is reported and left
    out."""
    from faster_coco_eval.core import mask as coco_mask

    w, h = size
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for shape in entry.shapes:
        seg = shape.segmentation
        if isinstance(seg, list):
            for poly in seg:
                draw.polygon([(float(poly[i]), float(poly[i + 1])) for i in range(0, len(poly), 2)],
                             fill=shape.value)
            continue
        if list(seg["size"]) != [h, w]:
            problems.add(shape.file, shape.entry, f"the RLE is {seg['size'][1]}x{seg['size'][0]} "
                         f"but the image is {w}x{h}")
            continue
        try:
            rle = (coco_mask.frPyObjects(seg, h, w) if isinstance(seg["counts"], list)
                   else {"size": [h, w], "counts": seg["counts"].encode("ascii")})
            bits = coco_mask.decode(rle)
        except (RuntimeError, ValueError, TypeError, UnicodeEncodeError, OverflowError) as e:
            problems.add(shape.file, shape.entry, f"the RLE cannot be decoded ({e})")
            continue
        values = np.array(canvas)
        values[bits.astype(bool)] = shape.value
        canvas = Image.fromarray(values)
        draw = ImageDraw.Draw(canvas)
    return np.array(canvas)
