"""Which group each sample belongs to, per grouping of ``Project.fairness``.

A grouping gives every sample of a split one group name, in the order evaluation sees the
split's samples (the split's stored order, see ``engine.data.core.iter_batches``). The
loaders split by index (``split_indices`` for CSV files and image folders, the texts'
``split_order``), so the groups are read from the same rows and files and picked with the
same indices:

- ``column``: a column of the CSV file (``dataset.source`` csv) or of the texts table
  (texts). A CSV group column is read whether or not the model reads it; keep it out of the
  features with ``dataset.options.ignore_columns`` (:func:`ignored_columns` gives the value).
- ``folder``: level ``level`` of the image folder tree (0: the class folder, 1: the folder
  inside it...).
- ``file``: a metadata CSV beside the data (or an absolute path): its first column names
  the sample (image folders: the path under the data folder, such as ``cat/a.png``; CSV and
  texts: the data row's number, 1 for the first row under the header), its ``column``
  (empty: the second) the group.

Intersections are groupings named ``"A x B"`` whose groups are ``"a / b"``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from engine.errors import UserError
from engine.project import DatasetSpec, Grouping, Project

SPLITS = ("train", "val", "test")


class GroupingError(UserError):
    """A grouping cannot give the samples their groups; the message names the grouping
    and what to do."""


def intersection_name(names: list[str]) -> str:
    return " x ".join(names)


def group_labels(project: Project, split: str, n: int | None) -> dict[str, list[str]]:
    """Grouping name -> the group of each of the ``n`` samples of ``split`` ("train",
    "val" or "test"), for every grouping and intersection of ``project.fairness``
    (``n`` None: the split's size is not known yet, nothing to check it against).
    Raises :class:`GroupingError` with a sentence naming the grouping."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    spec = project.dataset
    out: dict[str, list[str]] = {}
    for grouping in project.fairness.groupings:
        groups = _all_groups(grouping, spec)
        index = _split_index(spec, len(groups), split)
        picked = [groups[i] for i in index]
        if n is not None and len(picked) != n:
            raise GroupingError(
                f"grouping '{grouping.name}': the {split} split has {n} samples but the data "
                f"now gives {len(picked)}; the data set changed since the run was trained; "
                "train again or restore the data")
        out[grouping.name] = picked
    for names in project.fairness.intersections:
        missing = [name for name in names if name not in out]
        if missing:
            raise GroupingError(f"intersection {intersection_name(names)}: there is no grouping "
                                f"'{missing[0]}'; add it or remove it from the intersection")
        out[intersection_name(names)] = [" / ".join(parts) for parts in
                                         zip(*(out[name] for name in names), strict=True)]
    return out


def ignored_columns(project: Project) -> list[str]:
    """``dataset.options.ignore_columns`` with every CSV column grouping's column added
    (the value to set when the user adds such a grouping, so that the model does not
    read the group; a user who wants it as an input removes it again)."""
    have = project.dataset.options.get("ignore_columns") or []
    out = [have] if isinstance(have, str) else [str(c) for c in have]
    if project.dataset.source != "csv":
        return out
    for g in project.fairness.groupings:
        if g.kind == "column" and g.column and g.column not in out:
            out.append(g.column)
    return out


def _split_index(spec: DatasetSpec, n: int, split: str) -> list[int]:
    """The indices into the whole data set of ``split``'s samples, as the loader picks them."""
    if spec.source == "texts" or (spec.source == "builtin" and spec.name == "sentiment"):
        from engine.data.texts.prepare import split_order

        return split_order(n, spec.val_fraction, spec.test_fraction, spec.split_seed,
                           spec.source)[split]
    from engine.data.core import split_indices

    tr, va, te = split_indices(n, spec.val_fraction, spec.test_fraction, spec.split_seed)
    return {"train": tr, "val": va, "test": te}[split].tolist()


def _all_groups(grouping: Grouping, spec: DatasetSpec) -> list[str]:
    """The group of every sample of the data set, before splitting."""
    if grouping.kind == "column":
        return _column_groups(grouping, spec)
    if grouping.kind == "folder":
        return _folder_groups(grouping, spec)
    return _file_groups(grouping, spec)


def _column_groups(grouping: Grouping, spec: DatasetSpec) -> list[str]:
    name = grouping.column.strip()
    if not name:
        raise GroupingError(f"grouping '{grouping.name}': no column is set; choose the column "
                            "that holds the groups")
    if spec.source == "csv":
        from engine.data import tabular

        names, rows = tabular.read_columns(_data_path(spec, grouping), spec)
        k = _find_column(names, name)
        if k is None:
            raise GroupingError(
                f"grouping '{grouping.name}': the data has no column '{name}'; the columns "
                f"are {', '.join(repr(c) for c in names)}")
        return [row[k] if k < len(row) else "" for row in rows]
    if spec.source == "texts":
        return _texts_groups(grouping, spec, name)
    raise GroupingError(f"grouping '{grouping.name}' reads a column, but the data set is "
                        f"{spec.source} data; column groupings need CSV or texts data (use a "
                        "metadata file for other data)")


def _find_column(names: list[str], wanted: str) -> int | None:
    if wanted in names:
        return names.index(wanted)
    lower = [n.lower() for n in names]
    if wanted.lower() in lower:
        return lower.index(wanted.lower())
    return None


def _texts_groups(grouping: Grouping, spec: DatasetSpec, column: str) -> list[str]:
    """A texts table's group column: the table read again with the group column as the
    label, which keeps the same rows when every row has a group."""
    from engine.data.texts.prepare import read_set

    data = read_set(spec)
    if not data.columns or column.lower() not in [c.lower() for c in data.columns["all"]]:
        listed = ", ".join(repr(c) for c in (data.columns or {}).get("all", []))
        raise GroupingError(f"grouping '{grouping.name}': the texts have no column '{column}'"
                            + (f"; the columns are {listed}" if listed else ""))
    again = read_set(spec.model_copy(update={"target": column, "bad_entries": "skip"}))
    if again.texts != data.texts:
        raise GroupingError(f"grouping '{grouping.name}': some rows have no value in column "
                            f"'{column}'; give every row a group")
    return again.labels


def _data_path(spec: DatasetSpec, grouping: Grouping) -> Path:
    if not spec.path.strip():
        raise GroupingError(f"grouping '{grouping.name}': the data set has no path; choose "
                            "the data first")
    return Path(spec.path).expanduser()


def _folder_groups(grouping: Grouping, spec: DatasetSpec) -> list[str]:
    if spec.source != "folder":
        raise GroupingError(f"grouping '{grouping.name}' reads a level of an image folder, "
                            f"but the data set is {spec.source} data; use a column or a "
                            "metadata file")
    from engine.data.folder import list_images

    root = _data_path(spec, grouping)
    out = []
    for path in list_images(root):
        parts = path.relative_to(root).parts[:-1]
        if grouping.level >= len(parts):
            raise GroupingError(
                f"grouping '{grouping.name}': level {grouping.level} is deeper than the folder "
                f"tree at {path.relative_to(root).as_posix()} ({len(parts)} folder"
                f"{'s' if len(parts) != 1 else ''} deep, levels 0 to {len(parts) - 1}); "
                "choose a smaller level")
        out.append(parts[grouping.level])
    return out


def _file_groups(grouping: Grouping, spec: DatasetSpec) -> list[str]:
    """Groups from a metadata file, keyed by relative path (image folders) or row number."""
    from engine.data.paths import beside

    if not grouping.file.strip():
        raise GroupingError(f"grouping '{grouping.name}': no metadata file is set; choose a "
                            "CSV file that maps each sample to its group")
    path = beside(spec, grouping.file)
    table = _read_metadata(path, grouping)
    keys = _sample_keys(spec, grouping)
    out = []
    for key in keys:
        group = table.get(key)
        if group is None:
            absent = sum(1 for k in keys if k not in table)
            raise GroupingError(
                f"grouping '{grouping.name}': {path} has no group for sample '{key}' "
                f"({absent} of {len(keys)} samples are missing); add a row for each sample "
                "(its path under the data folder, or its row number, then its group)")
        out.append(group)
    return out


def _sample_keys(spec: DatasetSpec, grouping: Grouping) -> list[str]:
    if spec.source == "folder":
        from engine.data.folder import list_images

        root = _data_path(spec, grouping)
        return [p.relative_to(root).as_posix() for p in list_images(root)]
    if spec.source == "csv":
        from engine.data import tabular

        return [str(i + 1) for i in range(len(tabular.read_columns(_data_path(spec, grouping),
                                                                    spec)[1]))]
    if spec.source == "texts":
        from engine.data.texts.prepare import read_set

        return [str(i + 1) for i in range(len(read_set(spec)))]
    raise GroupingError(f"grouping '{grouping.name}': metadata files name samples of image "
                        f"folders, CSV and texts data, not of {spec.source} data")


def _read_metadata(path: Path, grouping: Grouping) -> dict[str, str]:
    """Sample key -> group from the metadata CSV (comma, semicolon or tab separated; a
    header row when ``grouping.column`` names a column or the first cell is not a key)."""
    from engine.files import decode_text, read_bytes

    text = decode_text(read_bytes(path, GroupingError, what="a metadata file"), path,
                       GroupingError, strip_bom=True)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), delimiter=delimiter)
            if any(c.strip() for c in r)]
    if not rows:
        raise GroupingError(f"grouping '{grouping.name}': {path} is empty; write one row per "
                            "sample: its path or row number, then its group")
    col = 1
    if grouping.column.strip():
        k = _find_column(rows[0], grouping.column.strip())
        if k is None:
            raise GroupingError(
                f"grouping '{grouping.name}': {path} has no column '{grouping.column}'; its "
                f"header is {', '.join(repr(c) for c in rows[0])}")
        col, rows = k, rows[1:]
    elif not rows[0][0].isdigit() and "." not in rows[0][0]:
        rows = rows[1:]  # a header such as "sample,group" (a key has a suffix or is a number)
    table: dict[str, str] = {}
    for number, row in enumerate(rows, 1):
        if len(row) <= col or not row[col]:
            raise GroupingError(f"grouping '{grouping.name}': {path}, row {number} has no group "
                                f"(column {col + 1}); give every sample a group")
        table[row[0].replace("\\", "/").removeprefix("./")] = row[col]
    return table
