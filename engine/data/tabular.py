"""CSV files: numeric feature columns plus one target column.

The first row is a header when any of its cells is not a number (``options["header"]``
forces it either way). The target is ``spec.target`` (a column name, or a 1-based column
number), else the last column. A target that is all numbers is a regression target
("real"), anything else names classes (sorted); ``options["task"] = "class"`` makes a
numeric target classes too. The delimiter is ``options["delimiter"]``, else guessed from
the first line (comma, semicolon or tab).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import torch

from engine.data.core import DataError
from engine.data.raw import Raw
from engine.project import DatasetSpec


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path}, line {line}: not UTF-8 text (byte offset {e.start}); save the CSV as UTF-8"
        ) from None


def _delimiter(first_line: str, spec: DatasetSpec, path: Path) -> str:
    given = spec.options.get("delimiter")
    if given:
        return str(given)
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(text: str, delimiter: str, path: Path) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as e:
        raise DataError(f"{path}, line {reader.line_num}: {e}") from None
    return rows


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
    delimiter = _delimiter(text.lstrip().splitlines()[0], spec, path)
    rows = _rows(text, delimiter, path)
    first = rows[0][1]
    header = spec.options.get("header")
    if header is None:
        header = any(_number(cell) is None for cell in first)
    if header:
        names = [cell or f"column {i + 1}" for i, cell in enumerate(first)]
        rows = rows[1:]
    else:
        names = [f"column {i + 1}" for i in range(len(first))]
    if not rows:
        raise DataError(f"{path}: there are no data rows after the header")
    if len(names) < 2:
        raise DataError(f"{path}: found one column; a CSV data set needs features and a target")
    target = _target_index(names, spec, path)
    features = [i for i in range(len(names)) if i != target]
    where = "the header has" if header else "the first row has"
    x = np.empty((len(rows), len(features)), dtype=np.float32)
    labels: list[str] = []
    for r, (line, row) in enumerate(rows):
        if len(row) != len(names):
            raise DataError(
                f"{path}, line {line}: found {len(row)} values, but {where} {len(names)} columns"
            )
        try:
            x[r] = [float(row[i]) for i in features]
        except ValueError:
            _bad_feature(path, line, row, names, features)
        labels.append(row[target])
    if not np.isfinite(x).all():
        r, c = np.argwhere(~np.isfinite(x))[0]
        cell = rows[r][1][features[c]]
        raise DataError(
            f"{path}, line {rows[r][0]}, column '{names[features[c]]}': '{cell}' is not a "
            f"finite number"
        )
    raw = _targets(labels, rows, path, names[target], spec)
    raw.x = torch.from_numpy(x)
    return raw


def _bad_feature(path: Path, line: int, row: list[str], names: list[str], features: list[int]):
    for i in features:
        if _number(row[i]) is None:
            what = "is empty" if not row[i] else f"has '{row[i]}', which is not a number"
            raise DataError(f"{path}, line {line}: column '{names[i]}' {what}")
    raise AssertionError("unreachable: some feature failed to parse")


def _targets(
    labels: list[str], rows: list[tuple[int, list[str]]], path: Path, column: str, spec: DatasetSpec
) -> Raw:
    task = spec.options.get("task")
    if task not in (None, "", "class", "real"):
        raise DataError(f"{path}: option task must be 'class' or 'real', not {task!r}")
    values = [_number(v) for v in labels]
    numeric = all(v is not None and math.isfinite(v) for v in values)
    source = f"csv:{path}"
    if numeric and task != "class":
        y = torch.tensor(values, dtype=torch.float32).reshape(-1, 1)
        return Raw("vector", None, y, "real", source, target_shape=(1,))
    if task == "real":
        bad = next(i for i, v in enumerate(values) if v is None or not math.isfinite(v))
        raise DataError(
            f"{path}, line {rows[bad][0]}: target column '{column}' has '{labels[bad]}', "
            f"which is not a number, but the task is regression"
        )
    if numeric:  # numeric class labels sort by value: 2 before 10
        names = sorted(set(labels), key=lambda s: (float(s), s))
    else:
        names = sorted(set(labels))
    if "" in names:
        bad = labels.index("")
        raise DataError(f"{path}, line {rows[bad][0]}: target column '{column}' is empty")
    index = {name: i for i, name in enumerate(names)}
    y = torch.tensor([index[v] for v in labels], dtype=torch.long)
    return Raw("vector", None, y, "class", source, classes=names)
