"""What the text readers hand on: a :class:`TextSet` of samples and the
:class:`~engine.data.problems.Problems` met on the way (stop or skip, as every reader),
plus the size limits every reader checks.

This package's reading side imports no torch (the editor's data-fit check and the dataset
panel use it), so ``DataError``, which lives beside torch in ``engine.data.core``, is made
by :func:`data_error` when one is raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data import limits
from engine.data.problems import Problems
from engine.files import file_size

#: the most .txt files a class folder set may hold (each is one sample)
MAX_TEXT_FILES = 1_000_000
#: the largest text data read: a CSV/TSV/JSONL file, each of two aligned files, or all the
#: .txt files of a class folder set together (the text is held in memory while it is read)
MAX_TEXT_BYTES = limits.MAX_CSV_BYTES


def data_error(message: str) -> Exception:
    """A :class:`~engine.data.core.DataError` (imported only now: it brings torch)."""
    from engine.data.core import DataError

    return DataError(message)


def checked_size(path: Path, what: str) -> int:
    """The size of the file ``path``, refused before reading when it is over the limit."""
    from engine.data.core import DataError

    size = file_size(path, DataError, what=what)
    if size > MAX_TEXT_BYTES:
        raise data_error(
            f"{path}: the file is {limits.format_bytes(size)}; LayerForge reads text data of "
            f"at most {limits.format_bytes(MAX_TEXT_BYTES)} (it is held in memory); use a "
            "sample of the rows")
    return size


@dataclass
class TextSet:
    """Samples as read, in file order, before splitting.

    ``kind`` "texts": ``texts`` and their class ``labels``; "pairs": source ``texts`` and
    target texts in ``labels``. ``columns`` says which columns were used, for the panel:
    ``{"text": name, "target": name, "all": [names]}`` (None for folders and aligned files).
    """

    kind: str
    source: str
    texts: list[str]
    labels: list[str]
    problems: Problems
    columns: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.texts)
