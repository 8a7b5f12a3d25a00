"""YOLO: one ``.txt`` file per image, a line ``class cx cy w h`` per box (fractions of the
image's width and height), in a labels folder that mirrors the images folder
(``images/train/a.jpg`` -> ``labels/train/a.txt``). An image without a labels file has no
boxes. Class names come from ``classes.txt`` or ``data.yaml`` (``names:``) beside the
labels or images, or the labels file setting; without one they are "class 0", "class 1",
... up to the largest class id used.
"""

from __future__ import annotations

import math
from pathlib import Path

from engine.data import limits
from engine.data.annotations.labels import TEXT_NAMES, layout_labels, read_text
from engine.data.annotations.layout import key_of, list_files, list_images
from engine.data.annotations.records import Box, Entry, Layout
from engine.data.core import DataError
from engine.data.problems import Problems

MAX_TXT_BYTES = 16 * 1024**2


def parse_yolo(spec_labels: str, base: Path, layout: Layout,
               problems: Problems) -> tuple[list[Entry], list[str]]:
    """The entries (one per image) and class names of a YOLO labels folder."""
    root = layout.annotations
    labels = layout_labels(spec_labels, base, layout)
    known = len(labels.names) if labels else limits.MAX_CLASSES
    texts = {key_of(p, root): p for p in list_files(root, {".txt"}) if p.name not in TEXT_NAMES}
    entries = []
    for image in list_images(layout.images, skip=(root,)):
        key = key_of(image, layout.images)
        txt = texts.pop(key, None)
        entry = Entry(image, image.relative_to(layout.images).as_posix(), str(txt or image))
        if txt is not None:
            entry.label = "the file"
            entry.normalized = True
            _read(txt, entry, known, labels is not None, problems)
        entries.append(entry)
    for key, txt in sorted(texts.items()):
        problems.add(txt, "the file", f"no image {key}.* in {layout.images}")
    if labels is not None:
        names = list(labels.names)
    else:
        top = max((b.cls for e in entries for b in e.boxes), default=0)
        names = [f"class {k}" for k in range(top + 1)]
    return entries, names


def _read(txt: Path, entry: Entry, known: int, named: bool, problems: Problems) -> None:
    try:
        text = read_text(txt, MAX_TXT_BYTES, "labels file")
    except DataError as e:
        problems.add(txt, "the file", str(e).removeprefix(f"{txt}: "))
        return
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        where = f"line {number}"
        numbers = [_float(p) for p in parts]
        if len(parts) != 5 or any(v is None for v in numbers):
            problems.add(txt, where, f"'{line.strip()[:60]}' is not 'class cx cy w h' (five numbers)")
            continue
        c, cx, cy, w, h = numbers  # type: ignore[misc]
        if not float(c).is_integer() or c < 0:
            problems.add(txt, where, f"the class id {parts[0]} is not a whole number >= 0")
            continue
        if c >= known:
            what = "the classes file names" if named else "LayerForge supports"
            problems.add(txt, where, f"the class id {int(c)} is unknown ({what} {known} classes)")
            continue
        entry.boxes.append(Box(int(c), cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, str(txt), where))


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
