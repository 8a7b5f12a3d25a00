"""Text tables: CSV, TSV and JSON Lines files with a text column and a label column
(texts) or a source and a target column (pairs).

Columns are chosen by ``dataset.text_column`` and ``dataset.target`` (a name, or a 1-based
column number); left empty, the text is the column named text, sentence, review, source,
src or input (else the first column) and the target the column named label, class,
category or sentiment for texts, target, tgt or output for pairs (else the first other
column). A delimited file's first row is a header when it names a column that way
(``options["header"]`` forces it either way), or, for texts, when its label cell is not
a value the label column holds further down (a header word among repeated labels).

Lines are numbered from 1 as an editor shows them. A bad row (too few or too many cells,
no text, no label, bytes that are not UTF-8, a line that is not a JSON object) goes to
:class:`~engine.data.texts.records.Problems`.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.data.problems import Problems
from engine.data.texts.records import TextSet, checked_size, data_error
from engine.errors import UserError
from engine.files import read_bytes
from engine.project import DatasetSpec

TEXT_NAMES = ("text", "sentence", "review", "source", "src", "input")
LABEL_NAMES = ("label", "class", "category", "sentiment")
TARGET_NAMES = ("target", "tgt", "output")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")
BAD_BYTES = re.compile("[\udc80-\udcff]")
_LOOK_AHEAD = 1000  # rows read before deciding whether the first row is a header


def read_table(path: Path, spec: DatasetSpec, kind: str, problems: Problems) -> TextSet:
    """The samples of a CSV/TSV/JSONL file; ``kind`` is "texts" or "pairs"."""
    text = _read(path)
    if not text.strip():
        raise data_error(f"{path}: the file is empty")
    source = f"{kind}:{spec.path}"
    if path.suffix.lower() in JSON_SUFFIXES:
        return _read_json(path, text, spec, kind, source, problems)
    return _read_delimited(path, text, spec, kind, source, problems)


def _read(path: Path) -> str:
    """The file's text; bytes that are not UTF-8 stay as lone surrogates, so the rows
    holding them are reported one by one (and can be skipped) instead of the whole file."""
    from engine.data.core import DataError

    checked_size(path, "a text table")
    data = read_bytes(path, DataError, what="a text table")
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


def _not_utf8(values: Any) -> bool:
    return any(isinstance(v, str) and BAD_BYTES.search(v) for v in values)


NOT_UTF8 = "holds bytes that are not UTF-8 text; save the file as UTF-8"


# ----------------------------------------------------------------------------- columns


def _column(names: list[str], wanted: str, field: str, path: Path) -> int:
    """The index of the column ``wanted`` names (exactly, then ignoring case, or by a
    1-based number)."""
    if wanted in names:
        return names.index(wanted)
    lower = [n.lower() for n in names]
    if wanted.lower() in lower:
        return lower.index(wanted.lower())
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return int(wanted) - 1
    listed = ", ".join(repr(n) for n in names)
    raise data_error(f"{path}: there is no column '{wanted}' (dataset.{field}); the columns "
                     f"are {listed}")


def _found(names: list[str], known: tuple[str, ...]) -> int | None:
    lower = [n.strip().lower() for n in names]
    for name in known:
        if name in lower:
            return lower.index(name)
    return None


def choose_columns(names: list[str], spec: DatasetSpec, kind: str, path: Path) -> tuple[int, int]:
    """(text column, target column) among ``names``; see the module docstring."""
    if len(names) < 2:
        what = "a text and a label" if kind == "texts" else "a source and a target text"
        raise data_error(f"{path}: found one column; the file needs two: {what}")
    wanted_text, wanted_target = spec.text_column.strip(), spec.target.strip()
    if wanted_text:
        t = _column(names, wanted_text, "text_column", path)
    else:
        t = _found(names, TEXT_NAMES)
        t = 0 if t is None else t
    if wanted_target:
        y = _column(names, wanted_target, "target", path)
    else:
        known = _found([n if i != t else "" for i, n in enumerate(names)],
                       LABEL_NAMES if kind == "texts" else TARGET_NAMES)
        y = known if known is not None else next(i for i in range(len(names)) if i != t)
    if t == y:
        raise data_error(f"{path}: the text and the target are the same column "
                         f"'{names[t]}'; choose two different columns")
    return t, y


def _names_a_column(cells: list[str], spec: DatasetSpec, kind: str) -> bool:
    known = {*TEXT_NAMES, *(LABEL_NAMES if kind == "texts" else TARGET_NAMES)}
    given = {spec.text_column.strip().lower(), spec.target.strip().lower()} - {""}
    return any(c.strip().lower() in known or c.strip().lower() in given for c in cells)


# --------------------------------------------------------------------------- delimited


def _delimiter(first_line: str, spec: DatasetSpec, path: Path) -> str:
    given = spec.options.get("delimiter")
    if given:
        d = {"\\t": "\t", "tab": "\t"}.get(str(given), str(given))
        if len(d) != 1 or d in "\r\n\"":
            raise data_error(f"dataset.options.delimiter is {given!r}: a delimiter must be one "
                             f"character (not a quote or a line break), such as ',', ';' or a "
                             f"tab; {path} cannot be read")
        return d
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(text: str, delimiter: str, path: Path,
          problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each row that has a value. A row the csv module
    cannot parse (a field over its size limit) is a bad entry."""
    lines = (m.group() for m in _LINE.finditer(text))
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            problems.add(path, f"line {start}", f"cannot be read as a row ({e})")
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if any(cell.strip() for cell in row):
            yield line, row


def _header(first: list[str], ahead: list[tuple[int, list[str]]], spec: DatasetSpec,
            kind: str) -> bool:
    forced = spec.options.get("header")
    if forced is not None:
        return bool(forced)
    if _names_a_column(first, spec, kind):
        return True
    if kind != "texts" or len(first) < 2:
        return False
    names = [f"column {i + 1}" for i in range(len(first))]
    try:
        _, y = choose_columns(names, spec, kind, Path())
    except UserError:  # a given column that only a header could name: decided later
        return False
    labels = [row[y].strip() for _, row in ahead if len(row) > y]
    repeated = len(set(labels)) < len(labels)
    return repeated and first[y].strip() not in labels


def _read_delimited(path: Path, text: str, spec: DatasetSpec, kind: str, source: str,
                    problems: Problems) -> TextSet:
    start = re.search(r"\S", text)
    first_line = _LINE.match(text, text.rfind("\n", 0, start.start()) + 1) if start else None
    delimiter = _delimiter(first_line.group() if first_line else "", spec, path)
    rows = _rows(text, delimiter, path, problems)
    first_at = next(rows, None)
    if first_at is None:
        raise data_error(f"{path}: the file holds no rows")
    ahead = list(itertools.islice(rows, _LOOK_AHEAD))
    header = _header(first_at[1], ahead, spec, kind)
    if header:
        names = [c.strip() or f"column {i + 1}" for i, c in enumerate(first_at[1])]
        body: Iterator[tuple[int, list[str]]] = itertools.chain(ahead, rows)
    else:
        names = [f"column {i + 1}" for i in range(len(first_at[1]))]
        body = itertools.chain([first_at], ahead, rows)
    t, y = choose_columns(names, spec, kind, path)
    where = "the header has" if header else "the first row has"
    texts: list[str] = []
    labels: list[str] = []
    for line, row in body:
        entry = f"line {line}"
        if len(row) != len(names):
            problems.add(path, entry, f"found {len(row)} values, but {where} {len(names)} "
                         f"columns (a {_delimiter_name(delimiter)} inside a text needs quotes)")
            continue
        if _not_utf8(row):
            problems.add(path, entry, NOT_UTF8)
            continue
        sample = _pick(row[t], row[y], names[t], names[y], kind, path, entry, problems)
        if sample is not None:
            texts.append(sample[0])
            labels.append(sample[1])
    columns = {"text": names[t], "target": names[y], "all": names, "header": header}
    return TextSet(kind, source, texts, labels, problems, columns)


def _delimiter_name(d: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "bar"}.get(d, repr(d))


def _pick(text: Any, label: Any, text_name: str, label_name: str, kind: str, path: Path,
          entry: str, problems: Problems) -> tuple[str, str] | None:
    """The (text, target) of one row, or None when it is a bad entry."""
    what = "label" if kind == "texts" else "target text"
    cells = []
    for value, name in ((text, text_name), (label, label_name)):
        if isinstance(value, bool | int | float):
            value = json.dumps(value)  # a JSON label 1 or true: its text
        if value is not None and not isinstance(value, str):
            problems.add(path, entry, f"'{name}' holds {type(value).__name__} {value!r}, "
                         "not text")
            return None
        cells.append((value or "").strip())
    if not cells[0]:
        problems.add(path, entry, f"no text in column '{text_name}'")
        return None
    if not cells[1]:
        problems.add(path, entry, f"no {what} in column '{label_name}'")
        return None
    return cells[0], cells[1]


# -------------------------------------------------------------------------------- JSON


def _objects(path: Path, text: str, problems: Problems) -> Iterator[tuple[str, Any]]:
    """(entry, value) of each JSON Lines line, or of each item of a JSON array."""
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise data_error(f"{path}: not valid JSON ({e}); write a list of objects, or one "
                             "object per line (JSON Lines)") from None
        for k, item in enumerate(items if isinstance(items, list) else [items]):
            yield f"item {k + 1}", item
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        entry = f"line {number}"
        if BAD_BYTES.search(line):
            problems.add(path, entry, NOT_UTF8)
            continue
        try:
            yield entry, json.loads(line)
        except (ValueError, RecursionError) as e:
            problems.add(path, entry, f"not valid JSON ({e})")


def _read_json(path: Path, text: str, spec: DatasetSpec, kind: str, source: str,
               problems: Problems) -> TextSet:
    names: list[str] | None = None
    t = y = 0
    texts: list[str] = []
    labels: list[str] = []
    for entry, obj in _objects(path, text, problems):
        if not isinstance(obj, dict):
            problems.add(path, entry, f"is a JSON {type(obj).__name__}, not an object "
                         "such as {\"text\": ..., \"label\": ...}")
            continue
        if names is None:
            names = [str(k) for k in obj]
            t, y = choose_columns(names, spec, kind, path)
        sample = _pick(obj.get(names[t]), obj.get(names[y]), names[t], names[y], kind, path,
                       entry, problems)
        if sample is not None:
            texts.append(sample[0])
            labels.append(sample[1])
    if names is None:
        raise data_error(f"{path}: found no JSON objects; write one object per line, such as "
                         "{\"text\": \"a fine phone\", \"label\": \"positive\"}")
    columns = {"text": names[t], "target": names[y], "all": names, "header": True}
    return TextSet(kind, source, texts, labels, problems, columns)
