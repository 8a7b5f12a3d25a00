"""Class-name files: ``labels.txt``/``classes.txt`` (one name a line, optionally followed by
the class's mask colour ``name r g b``) and YOLO's ``data.yaml`` (``names:`` as a list or a
mapping from id to name)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.data import limits
from engine.data.core import DataError
from engine.errors import os_reason

#: names a labels file gives a colour that marks pixels of no class (mask value 255)
IGNORE_NAMES = {"ignore", "void"}
_MAX_LABELS_BYTES = 16 * 1024**2
TEXT_NAMES = ("labels.txt", "classes.txt")
YAML_NAMES = ("data.yaml", "dataset.yaml")


@dataclass
class Labels:
    """Class names in class order; ``colours`` maps a mask colour to its class value (or
    to 255 for an "ignore"/"void" line) when the file gives colours."""

    path: Path
    names: list[str]
    colours: dict[tuple[int, int, int], int] | None = None


def read_text(path: Path, limit: int, what: str) -> str:
    """A UTF-8 text file, refused above ``limit`` bytes; :class:`DataError` names it."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise DataError(f"{path}: the {what} is {limits.format_bytes(size)}, more than the "
                            f"{limits.format_bytes(limit)} LayerForge reads")
        return path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise DataError(f"{path}: cannot read the {what} ({os_reason(e)})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: the {what} is not UTF-8 text") from None


def read_labels(path: Path) -> Labels:
    """Read a labels file (``.txt`` or YOLO ``.yaml``)."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return Labels(path, _yaml_names(path))
    names: list[str] = []
    colours: dict[tuple[int, int, int], int] = {}
    plain = 0
    for number, line in enumerate(read_text(path, _MAX_LABELS_BYTES, "labels file").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, colour = _name_colour(text)
        if colour is None:
            plain += 1
        elif name.lower() in IGNORE_NAMES:
            colours[colour] = 255
            continue
        else:
            if colour in colours:
                raise DataError(f"{path}: line {number}: the colour {colour} is given twice; "
                                "each class needs its own mask colour")
            colours[colour] = len(names)
        if name in names:
            raise DataError(f"{path}: line {number}: the class '{name}' is named twice; "
                            "give each class one line")
        names.append(name)
        if len(names) > limits.MAX_CLASSES:
            raise DataError(f"{path}: more than {limits.MAX_CLASSES:,} classes; LayerForge "
                            f"supports at most {limits.MAX_CLASSES:,}")
    if plain and colours:
        raise DataError(f"{path}: some lines give a colour (name r g b) and some do not; give "
                        "every class a colour, or none")
    if not names:
        raise DataError(f"{path}: the labels file names no classes; write one class name a line")
    return Labels(path, names, colours or None)


def _name_colour(text: str) -> tuple[str, tuple[int, int, int] | None]:
    parts = text.split()
    if len(parts) >= 4:
        try:
            rgb = tuple(int(p) for p in parts[-3:])
        except ValueError:
            return text, None
        if all(0 <= v <= 255 for v in rgb):
            return " ".join(parts[:-3]), (rgb[0], rgb[1], rgb[2])
    return text, None


def _yaml_names(path: Path) -> list[str]:
    import yaml  # PyYAML comes with huggingface_hub; only YOLO's data.yaml needs it

    try:
        data = yaml.safe_load(read_text(path, _MAX_LABELS_BYTES, "YOLO data file"))
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f"line {where.line + 1}: " if where is not None else ""
        raise DataError(f"{path}: {line}not valid YAML; YOLO's data.yaml lists the classes under "
                        "'names:'") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        try:
            ids = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            ids = []
        if ids != list(range(len(names))):
            raise DataError(f"{path}: 'names' must map the ids 0, 1, 2, ... to class names")
        names = [names[k] if k in names else names[str(k)] for k in ids]
    if not isinstance(names, list) or not names:
        raise DataError(f"{path}: no 'names:' list of classes; write names: [cat, dog, ...]")
    if len(names) > limits.MAX_CLASSES:
        raise DataError(f"{path}: more than {limits.MAX_CLASSES:,} classes; LayerForge supports "
                        f"at most {limits.MAX_CLASSES:,}")
    return [str(n) for n in names]


def layout_labels(explicit: str, base: Path, layout) -> Labels | None:
    """The labels file of a set in ``layout`` (a :class:`~engine.data.annotations.layout.
    Layout`): ``explicit``, else the first file of class names in the folders its format
    keeps one in; None for COCO (its categories name the classes) or when there is none.
    The readers and a remote run's upload both ask here, so they cannot disagree."""
    ann, images = layout.annotations, layout.images
    folders = {"masks": [ann, images, images.parent, ann.parent],
               "voc": [ann.parent, images, ann],
               "yolo": [ann, ann.parent, images, images.parent]}.get(layout.fmt)
    if folders is None:
        return None
    names = TEXT_NAMES + YAML_NAMES if layout.fmt == "yolo" else TEXT_NAMES
    return find_labels(explicit, base, folders, names)


def find_labels(explicit: str, base: Path, folders: list[Path], names: tuple[str, ...]) -> Labels | None:
    """The labels file ``explicit`` (relative to ``base`` when not absolute), else the first
    of ``names`` found in ``folders``; None when there is none."""
    if explicit.strip():
        path = Path(explicit).expanduser()
        if not path.is_absolute() and not path.exists():
            path = base / path
        if not path.is_file():
            raise DataError(f"{path}: no such labels file; choose the file of class names, or "
                            "clear Labels to find it beside the data")
        return read_labels(path)
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return read_labels(folder / name)
    return None
