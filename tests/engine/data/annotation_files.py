"""Writers of small but real segmentation and detection sets: PNG images and masks, COCO
JSON, Pascal VOC XML and YOLO text files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

#: a 2-class palette for colour masks: background black, "cat" red, "dog" green
PALETTE = {"background": (0, 0, 0), "cat": (255, 0, 0), "dog": (0, 255, 0)}


def image(path: Path, size: tuple[int, int] = (8, 6), value: int = 0, mode: str = "RGB") -> Path:
    """An image of ``size`` (width, height) whose pixel (x, y) is ``value + x + 10 y``
    in every channel, so resizing and order can be checked."""
    w, h = size
    ramp = (value + np.arange(w)[None, :] + 10 * np.arange(h)[:, None]) % 256
    arr = ramp.astype(np.uint8)
    if mode == "RGB":
        arr = np.stack([arr, arr, arr], axis=-1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode).save(path)
    return path


def mask(path: Path, values: np.ndarray, mode: str = "L") -> Path:
    """A PNG mask holding ``values`` (class per pixel), as L or P (index) or, for
    ``mode="RGB"``, as the PALETTE colours of classes 0, 1, 2 (255 white)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = np.asarray(values, dtype=np.uint8)
    if mode == "RGB":  # value 255 (no class) is drawn white
        colours = np.full((256, 3), 255, dtype=np.uint8)
        colours[: len(PALETTE)] = list(PALETTE.values())
        Image.fromarray(colours[values], "RGB").save(path)
    elif mode == "P":
        im = Image.fromarray(values, "P")
        im.putpalette([c for rgb in PALETTE.values() for c in rgb] + [128] * 3 * 253)
        im.save(path)
    else:
        Image.fromarray(values, "L").save(path)
    return path


def seg_values(k: int, size: tuple[int, int] = (8, 6)) -> np.ndarray:
    """Mask ``k`` of a test set: left half background, right half class 1 + k % 2, and
    the top-left pixel 255 (no class)."""
    w, h = size
    values = np.zeros((h, w), dtype=np.uint8)
    values[:, w // 2 :] = 1 + k % 2
    values[0, 0] = 255
    return values


def seg_folder(root: Path, n: int = 4, mode: str = "L", masks_dir: str = "masks",
               size: tuple[int, int] = (8, 6)) -> Path:
    """``root/images/img{k}.png`` and ``root/{masks_dir}/img{k}.png``; returns the images
    folder."""
    for k in range(n):
        image(root / "images" / f"img{k}.png", size, value=k)
        mask(root / masks_dir / f"img{k}.png", seg_values(k, size), mode)
    return root / "images"


def coco(path: Path, images: list[dict], annotations: list[dict],
         categories: list[dict] | None = None) -> Path:
    """A COCO JSON file; ``categories`` default to cat (id 3) and dog (id 1)."""
    cats = categories if categories is not None else [{"id": 3, "name": "cat"},
                                                      {"id": 1, "name": "dog"}]
    for i, ann in enumerate(annotations, 1):
        ann.setdefault("id", i)
        ann.setdefault("iscrowd", 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}))
    return path


def coco_image(image_id: int, name: str, size: tuple[int, int] = (8, 6)) -> dict:
    return {"id": image_id, "file_name": name, "width": size[0], "height": size[1]}


def voc_xml(path: Path, filename: str, size: tuple[int, int], objects: list[tuple]) -> Path:
    """A VOC XML file; ``objects`` are (name, xmin, ymin, xmax, ymax) in VOC's 1-based
    pixel numbers."""
    body = "".join(
        f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{x0}</xmin>"
        f"<ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
        for name, x0, y0, x1, y1 in objects)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<annotation><folder>VOC</folder><filename>{filename}</filename><size>"
                    f"<width>{size[0]}</width><height>{size[1]}</height><depth>3</depth>"
                    f"</size>{body}</annotation>")
    return path


def yolo_txt(path: Path, rows: list[tuple]) -> Path:
    """A YOLO labels file of (class, cx, cy, w, h) rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(" ".join(str(v) for v in row) + "\n" for row in rows))
    return path
