"""Finding a set's annotations from its layout, and listing its files.

``dataset.path`` is the images folder (or a set's root: a VOC root with ``JPEGImages/``, a
YOLO or COCO root with ``images/``). ``dataset.annotations`` names the annotations when set;
when it is empty they are looked for under and beside the images folder, in this order:

- segmentation: a folder ``masks/``, ``labels/``, ``SegmentationClass/`` or ``annotations/``
  holding PNG masks, else one COCO ``.json`` file in ``annotations/``;
- detection: one COCO ``.json`` file in ``annotations/``, else ``Annotations/*.xml``
  (Pascal VOC), else ``labels/*.txt`` (YOLO).
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.data.annotations.records import Layout
from engine.data.core import DataError
from engine.data.folder import IMAGE_SUFFIXES
from engine.errors import os_reason

SEG_FOLDERS = ("masks", "labels", "SegmentationClass", "annotations")
DET_FOLDERS = (("annotations", "coco"), ("Annotations", "voc"), ("labels", "yolo"))
#: sub-folders that hold a set's images when ``dataset.path`` is its root
IMAGE_FOLDERS = ("JPEGImages", "images")
#: the most files listed in one folder tree (a set of two million images is far past what
#: fits in memory anyway)
MAX_FILES = 2_000_000


def images_root(path: Path) -> Path:
    """The folder holding the images: ``path``, or its ``JPEGImages/`` or ``images/`` when
    ``path`` is a set's root with no images of its own."""
    if not path.exists():
        raise DataError(f"{path}: no such folder; choose the folder of images")
    if not path.is_dir():
        raise DataError(f"{path}: is a file; choose the folder of images (and the annotation "
                        "file as Annotations)")
    if any(_is_image_name(p.name) for p in _children(path) if p.is_file()):
        return path
    for name in IMAGE_FOLDERS:
        if (path / name).is_dir():
            return path / name
    return path


def find_layout(path: Path, annotations: str, target: str) -> Layout:
    """Where the annotations of the images under ``path`` are, and their format."""
    images = images_root(path)
    if annotations.strip():
        given = Path(annotations).expanduser()
        if not given.is_absolute() and not given.exists():
            given = path / given
        return Layout(_format_of(given, target), images, given)
    bases = [images, images.parent] if images == path else [images, path, path.parent]
    for base in dict.fromkeys(bases):
        for name, fmt in _candidates(target):
            folder = base / name
            if folder == images or not folder.is_dir():
                continue
            found = _in_folder(folder, fmt)
            if found is not None:
                return Layout(fmt, images, found)
    looked = ", ".join(f"{name}/" for name, _ in _candidates(target))
    what = ("PNG masks or a COCO .json file" if target == "mask"
            else "a COCO .json file, Pascal VOC .xml files or YOLO .txt files")
    raise DataError(f"{path}: no annotations found beside or under the images (looked for "
                    f"{looked} holding {what}); choose them as Annotations")


def _candidates(target: str) -> list[tuple[str, str]]:
    if target == "mask":
        return [(name, "masks") for name in SEG_FOLDERS] + [("annotations", "coco")]
    return list(DET_FOLDERS)


def _in_folder(folder: Path, fmt: str) -> Path | None:
    """``folder`` (or its one JSON file) when it holds annotations of ``fmt``."""
    suffix = {"masks": ".png", "coco": ".json", "voc": ".xml", "yolo": ".txt"}[fmt]
    if fmt == "coco":
        found = sorted(p for p in _children(folder) if p.suffix.lower() == ".json" and p.is_file())
        if len(found) > 1:
            names = ", ".join(p.name for p in found[:5])
            raise DataError(f"{folder}: several COCO files ({names}); choose one as Annotations")
        return found[0] if found else None
    return folder if any(True for _ in walk(folder, {suffix})) else None


def _format_of(given: Path, target: str) -> str:
    if given.is_file():
        if given.suffix.lower() == ".json":
            return "coco"
        raise DataError(f"{given}: annotations in one file must be COCO JSON (.json); choose a "
                        "folder for masks, VOC .xml or YOLO .txt files")
    if not given.is_dir():
        raise DataError(f"{given}: no such file or folder; choose the annotations, or clear "
                        "Annotations to find them from the layout")
    kinds = [("masks", ".png")] if target == "mask" else [("voc", ".xml"), ("yolo", ".txt")]
    for fmt, suffix in kinds:
        if any(True for _ in walk(given, {suffix})):
            return fmt
    found = _in_folder(given, "coco")
    if found is not None:
        raise DataError(f"{given}: holds the COCO file {found.name}; choose that file as "
                        "Annotations")
    what = "PNG masks" if target == "mask" else "VOC .xml or YOLO .txt files"
    raise DataError(f"{given}: the folder holds no {what}")


def _children(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if not e.name.startswith(".")]
    except OSError as e:
        raise DataError(f"{folder}: cannot list the folder ({os_reason(e)})") from None


def _is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith(".")


def walk(root: Path, suffixes: set[str], skip: tuple[Path, ...] = ()):
    """Files under ``root`` (any depth, hidden ones left out) whose suffix is in
    ``suffixes``, in sorted order per folder; folders in ``skip`` are not entered."""
    stack = [root]
    while stack:
        folder = stack.pop()
        dirs = []
        for p in sorted(_children(folder)):
            if p.is_dir():
                if p not in skip:
                    dirs.append(p)
            elif p.suffix.lower() in suffixes:
                yield p
        stack.extend(reversed(dirs))


def list_files(root: Path, suffixes: set[str], skip: tuple[Path, ...] = ()) -> list[Path]:
    """:func:`walk` as a list, refused past :data:`MAX_FILES`."""
    found: list[Path] = []
    for p in walk(root, suffixes, skip):
        found.append(p)
        if len(found) > MAX_FILES:
            raise DataError(f"{root}: more than {MAX_FILES:,} files; LayerForge reads "
                            "segmentation and detection sets into memory")
    return found


def list_images(root: Path, skip: tuple[Path, ...] = ()) -> list[Path]:
    """The image files under ``root`` (any depth), sorted, leaving out ``skip`` folders."""
    return list_files(root, IMAGE_SUFFIXES, skip)


def key_of(path: Path, root: Path) -> str:
    """A file's name relative to ``root`` without its suffix: what images and masks (or
    YOLO label files) are matched by."""
    return path.relative_to(root).with_suffix("").as_posix()
