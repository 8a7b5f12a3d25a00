"""Text data in plain files: one folder of ``.txt`` files per class (texts), and two
aligned text files, line k of one the translation of line k of the other (pairs).

Bad entries go to :class:`~engine.data.texts.records.Problems`: a class folder without
``.txt`` files, a file or line that is not UTF-8 or holds no text, and files of pairs whose
line counts differ (skipping keeps the lines both files have and counts the rest).
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.data import limits
from engine.data.problems import Problems
from engine.data.texts.records import (
    MAX_TEXT_BYTES,
    MAX_TEXT_FILES,
    TextSet,
    checked_size,
    data_error,
)
from engine.data.texts.tables import BAD_BYTES, NOT_UTF8
from engine.errors import os_reason
from engine.project import DatasetSpec


def class_files(root: Path) -> list[tuple[str, list[Path]]]:
    """(class name, its .txt files sorted) for each sub-folder of ``root``, sorted by name.
    Hidden files and folders are left out; a class folder's sub-folders are read too."""
    if not root.exists():
        raise data_error(f"{root}: no such folder")
    if not root.is_dir():
        raise data_error(f"{root}: is a file; for texts in a table choose a .csv, .tsv or "
                         ".jsonl file, or choose a folder holding one sub-folder of .txt files "
                         "per class")
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as e:
        raise data_error(f"{root}: cannot list the folder ({os_reason(e)})") from None
    if not folders:
        raise data_error(f"{root}: has no sub-folders; put the .txt files of each class in a "
                         "sub-folder named after the class (positive/, negative/ ...)")
    if len(folders) > limits.MAX_CLASSES:
        raise data_error(f"{root}: has {len(folders):,} sub-folders; LayerForge takes at most "
                         f"{limits.MAX_CLASSES:,} classes")
    found, total = [], 0
    for folder in folders:
        files = sorted(_txt_files(folder))
        total += len(files)
        if total > MAX_TEXT_FILES:
            raise data_error(f"{root}: holds more than {MAX_TEXT_FILES:,} .txt files; use a "
                             "sample, or one CSV/JSONL file of texts")
        found.append((folder.name, files))
    return found


def _txt_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        out += [Path(dirpath, f) for f in filenames
                if f.lower().endswith(".txt") and not f.startswith(".")]
    return out


def read_class_folders(root: Path, spec: DatasetSpec, problems: Problems) -> TextSet:
    """One sample per .txt file, labelled with its class folder's name."""
    texts: list[str] = []
    labels: list[str] = []
    budget = MAX_TEXT_BYTES
    for name, files in class_files(root):
        if not files:
            problems.add(root / name, "", "the class folder holds no .txt files; add some or "
                         "remove the folder")
            continue
        for file in files:
            try:
                size = file.stat().st_size
            except OSError as e:
                problems.add(file, "", f"cannot be read ({os_reason(e)})")
                continue
            budget -= size
            if budget < 0:
                raise data_error(f"{root}: the .txt files hold more than "
                                 f"{limits.format_bytes(MAX_TEXT_BYTES)}; LayerForge holds text "
                                 "data in memory; use a sample")
            text = _file_text(file, problems)
            if text is not None:
                texts.append(text)
                labels.append(name)
    return TextSet("texts", f"texts:{spec.path}", texts, labels, problems)


def _file_text(file: Path, problems: Problems) -> str | None:
    try:
        data = file.read_bytes()
    except OSError as e:
        problems.add(file, "", f"cannot be read ({os_reason(e)})")
        return None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff").strip()
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        problems.add(file, f"line {line}", f"byte 0x{data[e.start]:02x} at byte offset "
                     f"{e.start} {NOT_UTF8}")
        return None
    if not text:
        problems.add(file, "", "the file holds no text")
        return None
    return text


def _lines(path: Path) -> list[str]:
    from engine.data.core import DataError
    from engine.files import read_bytes

    checked_size(path, "a text file")
    text = read_bytes(path, DataError, what="a text file").decode("utf-8", "surrogateescape")
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()  # a final newline, or blank lines at the end
    return lines


def read_aligned(source: Path, target: Path, spec: DatasetSpec, problems: Problems) -> TextSet:
    """Pairs from two files, line by line."""
    src, tgt = _lines(source), _lines(target)
    if not src:
        raise data_error(f"{source}: the file holds no text")
    if not tgt:
        raise data_error(f"{target}: the file holds no text")
    if len(src) != len(tgt):
        extra = abs(len(src) - len(tgt))
        problems.add(f"{source} and {target}", "",
                     f"{source.name} has {len(src):,} lines but {target.name} has "
                     f"{len(tgt):,}; line k of one must be the translation of line k of the "
                     f"other (skipping keeps the first {min(len(src), len(tgt)):,} pairs and "
                     f"leaves out {extra:,} lines)", count=extra)
    texts: list[str] = []
    targets: list[str] = []
    for number, (a, b) in enumerate(zip(src, tgt, strict=False), 1):
        entry = f"line {number}"
        bad = next(((p, w) for p, w, s in ((source, NOT_UTF8, a), (target, NOT_UTF8, b))
                    if BAD_BYTES.search(s)), None)
        if bad is None:
            bad = next(((p, "holds no text") for p, s in ((source, a), (target, b))
                        if not s.strip()), None)
        if bad is not None:
            problems.add(bad[0], entry, bad[1])
            continue
        texts.append(a.strip())
        targets.append(b.strip())
    return TextSet("pairs", f"pairs:{spec.path}", texts, targets, problems)
