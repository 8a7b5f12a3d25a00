"""CSV files: numeric feature columns plus one target column.

The first row is a header when any of its cells is not a number (``options["header"]``
forces it either way). The target is ``spec.target`` (a column name, or a 1-based column
number), else the last column. A target that is all numbers is a regression target
("real"), anything else names classes (sorted); ``options["task"] = "class"`` makes a
numeric target classes too. The delimiter is ``options["delimiter"]``, else guessed from
the first line (comma, semicolon or tab). Every other column is a feature, except those
``options["ignore_columns"]`` names (a list of names or 1-based numbers): a bias report's
group column (docs/fairness.md) is kept out of the model that way.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from array import array
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from engine.data import limits
from engine.data.core import DataError
from engine.data.limits import format_bytes
from engine.data.raw import Raw
from engine.files import decode_text, file_size, read_bytes
from engine.project import DatasetSpec

_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _read(path: Path) -> str:
    size = file_size(path, DataError, what="a CSV file")
    if size > limits.MAX_CSV_BYTES:  # checked before reading: the file may be anything
        raise DataError(
            f"{path}: the file is {format_bytes(size)}; LayerForge reads CSV files of at most "
            f"{format_bytes(limits.MAX_CSV_BYTES)} (the whole table is held in memory); use a "
            f"sample of the rows"
        )
    data = read_bytes(path, DataError, what="a CSV file")
    return decode_text(data, path, DataError, strip_bom=True)


def _first_line(text: str) -> str:
    """The first line with something on it, without copying the whole text."""
    match = re.search(r"\S", text)
    if match is None:
        return ""
    start = text.rfind("\n", 0, match.start()) + 1
    end = _LINE.match(text, start)
    return end.group().rstrip("\r\n") if end else ""


def _delimiter(first_line: str, spec: DatasetSpec, path: Path) -> str:
    given = spec.options.get("delimiter")
    if given:
        d = {"\\t": "\t", "tab": "\t"}.get(str(given), str(given))
        if len(d) != 1 or d in "\r\n\"":
            raise DataError(
                f"dataset.options.delimiter is {given!r}: a delimiter must be one character "
                f"(not a quote or a line break), such as ',', ';' or a tab; {path} cannot be read"
            )
        return d
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(text: str, delimiter: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped cells) of each row with a value; lines are cut lazily, so no
    list of every line or row is ever built."""
    lines = (m.group() for m in _LINE.finditer(text))
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any(cells):
                yield reader.line_num, cells
    except csv.Error as e:
        raise DataError(f"{path}, line {reader.line_num}: {e}") from None


def _target_index(names: list[str], spec: DatasetSpec, path: Path) -> int:
    wanted = spec.target.strip()
    if not wanted:
        return len(names) - 1
    if wanted in names:
        return names.index(wanted)
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return int(wanted) - 1
    listed = ", ".join(repr(n) for n in names)
    raise DataError(f"{path}: there is no target column '{wanted}'; the columns are {listed}")


def read_csv(path: Path, spec: DatasetSpec) -> Raw:
    """Features [N, F] (float) and targets: class ids [N] or real values [N, 1]."""
    text = _read(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    delimiter = _delimiter(_first_line(text), spec, path)
    rows = _rows(text, delimiter, path)
    first_at = next(rows, None)
    if first_at is None:
        raise DataError(f"{path}: the file holds no values, only delimiters ({delimiter!r}) and "
                        f"blank lines")
    first = first_at[1]
    header = spec.options.get("header")
    if header is None:
        header = any(_number(cell) is None for cell in first)
    if header:
        names = [cell or f"column {i + 1}" for i, cell in enumerate(first)]
    else:
        names = [f"column {i + 1}" for i in range(len(first))]
        rows = itertools.chain([first_at], rows)
    if len(names) < 2:
        raise DataError(f"{path}: found one column; a CSV data set needs features and a target")
    target = _target_index(names, spec, path)
    features = feature_columns(names, target, spec, path)
    where = "the header has" if header else "the first row has"
    values = array("f")  # float32, row after row: 4 bytes a cell, not a Python object
    labels = _Labels()
    for line, row in rows:
        if len(row) != len(names):
            raise DataError(
                f"{path}, line {line}: found {len(row)} values, but {where} {len(names)} columns"
            )
        try:
            cells = [float(row[i]) for i in features]
        except ValueError:
            _bad_feature(path, line, row, names, features)
        if not math.isfinite(sum(cells)):  # cheap; only a non-finite sum needs the cell-by-cell look
            _non_finite(path, line, row, cells, names, features)
        values.extend(cells)
        labels.add(line, row[target])
    if not labels.count:
        raise DataError(f"{path}: there are no data rows after the header")
    raw = labels.raw(path, names[target], spec)
    raw.x = torch.from_numpy(np.frombuffer(values, dtype=np.float32).reshape(-1, len(features)))
    return raw


def feature_columns(names: list[str], target: int, spec: DatasetSpec, path: Path) -> list[int]:
    """The indices of the feature columns: all but the target and
    ``options["ignore_columns"]``."""
    ignored = spec.options.get("ignore_columns") or []
    if isinstance(ignored, str):
        ignored = [ignored]
    skip = {target}
    for wanted in ignored:
        wanted = str(wanted).strip()
        if wanted in names:
            skip.add(names.index(wanted))
        elif wanted.isdigit() and 1 <= int(wanted) <= len(names):
            skip.add(int(wanted) - 1)
        else:
            listed = ", ".join(repr(n) for n in names)
            raise DataError(f"{path}: dataset.options.ignore_columns names '{wanted}', which is "
                            f"not a column; the columns are {listed}")
    features = [i for i in range(len(names)) if i not in skip]
    if not features:
        raise DataError(f"{path}: no feature column is left after the target and "
                        f"dataset.options.ignore_columns")
    return features


def read_columns(path: Path, spec: DatasetSpec) -> tuple[list[str], list[list[str]]]:
    """(column names, the cells of each data row) as :func:`read_csv` sees them: row ``i``
    here is sample ``i`` of the loaded data (blank rows skipped, header detected the same
    way), for reading columns that are not features, such as a bias report's groups."""
    text = _read(path)
    delimiter = _delimiter(_first_line(text), spec, path)
    rows = _rows(text, delimiter, path)
    first_at = next(rows, None)
    if first_at is None:
        return [], []
    first = first_at[1]
    header = spec.options.get("header")
    if header is None:
        header = any(_number(cell) is None for cell in first)
    if header:
        return [cell or f"column {i + 1}" for i, cell in enumerate(first)], [r for _, r in rows]
    names = [f"column {i + 1}" for i in range(len(first))]
    return names, [first, *(r for _, r in rows)]


def _bad_feature(path: Path, line: int, row: list[str], names: list[str], features: list[int]):
    for i in features:
        if _number(row[i]) is None:
            what = "is empty" if not row[i] else f"has '{row[i]}', which is not a number"
            raise DataError(f"{path}, line {line}: column '{names[i]}' {what}")
    raise AssertionError("unreachable: some feature failed to parse")


def _non_finite(path: Path, line: int, row: list[str], cells: list[float], names: list[str],
                features: list[int]) -> None:
    for i, v in zip(features, cells, strict=True):
        if not math.isfinite(v):
            raise DataError(f"{path}, line {line}, column '{names[i]}': '{row[i]}' is not a "
                            f"finite number")


class _Labels:
    """The target column, gathered row by row in compact arrays: each value as a number (NaN
    when it is not one) and as a class code. Codes stop being kept past
    ``limits.MAX_CLASSES`` distinct values, so a column of a million distinct names cannot
    grow a dictionary of a million entries; that is only an error if the target is classes."""

    def __init__(self) -> None:
        self.count = 0
        self.numbers = array("d")
        self.codes = array("q")
        self.index: dict[str, int] = {}
        self.too_many = False
        self.numeric = True
        self.first_bad: tuple[int, str] | None = None  # not a finite number
        self.first_empty: int | None = None

    def add(self, line: int, label: str) -> None:
        self.count += 1
        v = _number(label)
        if v is None or not math.isfinite(v):
            self.numeric = False
            if self.first_bad is None:
                self.first_bad = (line, label)
            v = math.nan
        if not label and self.first_empty is None:
            self.first_empty = line
        self.numbers.append(v)
        if self.too_many:
            return
        code = self.index.get(label)
        if code is None:
            if len(self.index) >= limits.MAX_CLASSES:
                self.too_many = True
                self.index.clear()
                self.codes = array("q")
                return
            code = self.index[label] = len(self.index)
        self.codes.append(code)

    def raw(self, path: Path, column: str, spec: DatasetSpec) -> Raw:
        task = spec.options.get("task")
        if task not in (None, "", "class", "real"):
            raise DataError(f"{path}: option task must be 'class' or 'real', not {task!r}")
        source = f"csv:{path}"
        if self.numeric and task != "class":
            y = torch.from_numpy(np.frombuffer(self.numbers, dtype=np.float64).astype(np.float32))
            return Raw("vector", None, y.reshape(-1, 1), "real", source, target_shape=(1,))
        if task == "real":
            assert self.first_bad is not None
            line, label = self.first_bad
            raise DataError(
                f"{path}, line {line}: target column '{column}' has '{label}', "
                f"which is not a number, but the task is regression"
            )
        if self.first_empty is not None:
            raise DataError(f"{path}, line {self.first_empty}: target column '{column}' is empty")
        if self.too_many:
            raise DataError(
                f"{path}: target column '{column}' has more than {limits.MAX_CLASSES:,} different "
                f"classes; LayerForge supports at most {limits.MAX_CLASSES:,} (for a numeric "
                f"target, leave option task unset to make it a regression)"
            )
        if self.numeric:  # numeric class labels sort by value: 2 before 10
            names = sorted(self.index, key=lambda s: (float(s), s))
        else:
            names = sorted(self.index)
        order = np.empty(len(names), dtype=np.int64)  # first-seen code -> sorted position
        for k, name in enumerate(names):
            order[self.index[name]] = k
        y = torch.from_numpy(order[np.frombuffer(self.codes, dtype=np.int64)])
        return Raw("vector", None, y, "class", source, classes=names)
