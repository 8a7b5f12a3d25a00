"""Pascal VOC: one XML file per image, with ``<filename>``, ``<size>`` and ``<object>``s.

VOC's pixel coordinates start at 1 and ``xmax`` is the last pixel inside the box, so a box
is ``(xmin - 1, ymin - 1, xmax, ymax)`` in LayerForge's edges-of-pixels coordinates (as
Detectron2 reads VOC). Classes come from the labels file when there is one (an object of
another class is a bad annotation), else from every object name, sorted. The image is
``<filename>`` in the images folder, else the XML file's name with an image suffix.

XML is parsed with the standard library's expat (2.4.1 and later refuse entity-expansion
bombs).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from engine.data import limits
from engine.data.annotations.labels import layout_labels, read_text
from engine.data.annotations.layout import list_files
from engine.data.annotations.records import Box, Entry, Layout
from engine.data.core import DataError
from engine.data.folder import IMAGE_SUFFIXES
from engine.data.problems import Problems

MAX_XML_BYTES = 16 * 1024**2


def parse_voc(spec_labels: str, base: Path, layout: Layout,
              problems: Problems) -> tuple[list[Entry], list[str]]:
    """The entries (one per XML file) and class names of a VOC annotations folder."""
    labels = layout_labels(spec_labels, base, layout)
    found: list[tuple[Entry, list[tuple[str, Box]]]] = []
    for xml in list_files(layout.annotations, {".xml"}):
        parsed = _read(xml, layout, problems)
        if parsed is not None:
            found.append(parsed)
    names = list(labels.names) if labels else sorted({n for _, objs in found for n, _ in objs})
    if len(names) > limits.MAX_CLASSES:
        raise DataError(f"{layout.annotations}: more than {limits.MAX_CLASSES:,} object names; "
                        f"LayerForge supports at most {limits.MAX_CLASSES:,} classes")
    index = {n: k for k, n in enumerate(names)}
    entries = []
    for entry, objects in found:
        for name, box in objects:
            if name not in index:
                problems.add(box.file, box.entry, f"the class '{name}' is not in {labels.path if labels else 'the labels'}")
                continue
            box.cls = index[name]
            entry.boxes.append(box)
        entries.append(entry)
    return entries, names


def _read(xml: Path, layout: Layout, problems: Problems) -> tuple[Entry, list[tuple[str, Box]]] | None:
    try:
        root = ET.fromstring(read_text(xml, MAX_XML_BYTES, "annotation file"))
    except ET.ParseError as e:
        problems.add(xml, f"line {e.position[0]}", f"not valid XML ({_reason(e)})")
        return None
    except DataError as e:
        problems.add(xml, "the file", str(e).removeprefix(f"{xml}: "))
        return None
    image = _image_file(xml, root.findtext("filename"), layout)
    if image is None:
        problems.add(xml, "<filename>", f"no image '{root.findtext('filename') or xml.stem}' in "
                     f"{layout.images}")
        return None
    size = (_int(root.findtext("size/width")), _int(root.findtext("size/height")))
    declared = size if size[0] and size[1] else None  # some tools write 0 when unknown
    name = image.relative_to(layout.images).as_posix()
    entry = Entry(image, name, str(xml), "the file", declared)  # type: ignore[arg-type]
    objects = []
    for i, obj in enumerate(root.iter("object"), 1):
        name = (obj.findtext("name") or "").strip()
        label = f"object {i} ('{name}')" if name else f"object {i}"
        coords = [_float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
        if not name:
            problems.add(xml, label, "the object has no <name>")
        elif any(c is None for c in coords):
            problems.add(xml, label, "<bndbox> needs xmin, ymin, xmax and ymax numbers")
        else:
            x0, y0, x1, y1 = coords  # type: ignore[misc]
            objects.append((name, Box(-1, x0 - 1, y0 - 1, x1, y1, str(xml), label)))
    return entry, objects


def _image_file(xml: Path, filename: str | None, layout: Layout) -> Path | None:
    if filename and filename.strip():
        name = Path(filename.strip()).name
        for candidate in (layout.images / name, layout.images / xml.relative_to(layout.annotations).parent / name):
            if candidate.is_file():
                return candidate
    stem = layout.images / xml.relative_to(layout.annotations).with_suffix("")
    for suffix in sorted(IMAGE_SUFFIXES):
        for candidate in (stem.with_suffix(suffix), stem.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def _reason(e: ET.ParseError) -> str:
    return str(e).split(":")[0]


def _int(text: str | None) -> int:
    value = _float(text)
    return int(value) if value is not None and value > 0 else 0


def _float(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
