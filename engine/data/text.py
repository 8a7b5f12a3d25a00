"""Character-level text corpora: reading, the vocabulary and next-character windows.

A corpus is split by position, not by window: the first part trains, the next part
validates, the last part tests, so no window of one split overlaps another. Windows start
every ``options["stride"]`` characters (default: ``seq_len``, so one epoch reads the text
once); ``x`` is a window of character ids and ``y`` the same window shifted by one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine.data.core import DataError, Split, _part
from engine.data.corpus import vocabulary
from engine.files import decode_text, read_bytes


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; :class:`DataError` for a missing, empty or non-UTF-8 file."""
    data = read_bytes(path, DataError, what="a plain text file")
    if not data:
        raise DataError(f"{path}: the file is empty")
    return decode_text(data, path, DataError, strip_bom=True)


def encode_all(text: str, vocab: list[str]) -> torch.Tensor:
    """Ids of every character of ``text`` (all must be in ``vocab``), as a long tensor."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    table = np.array([ord(ch) for ch in vocab], dtype=np.uint32)
    return torch.from_numpy(np.searchsorted(table, codes).astype(np.int64))


def windows(ids: torch.Tensor, seq_len: int, stride: int) -> Split:
    """Windows of ``seq_len`` ids (x) and the same windows shifted by one (y)."""
    if len(ids) < seq_len + 1:
        empty = torch.empty(0, seq_len, dtype=torch.long)
        return Split(empty, empty.clone())
    x = ids[:-1].unfold(0, seq_len, stride).contiguous()
    y = ids[1:].unfold(0, seq_len, stride).contiguous()
    return Split(x, y)


def corpus_splits(
    text: str,
    *,
    source: str,
    seq_len: int,
    val_fraction: float,
    test_fraction: float,
    stride: int | None,
    memory_limit: int,
) -> tuple[Split, Split, Split | None, list[str]]:
    """Train, val, test (None without a test fraction) windows and the vocabulary."""
    need = seq_len + 1
    if len(text) < need:
        raise DataError(
            f"{source}: the text has {len(text)} characters, fewer than the sequence length "
            f"plus one ({need}); use a shorter sequence length or a longer text"
        )
    stride = seq_len if stride is None else int(stride)
    if stride < 1:
        raise DataError(f"{source}: option stride must be at least 1, not {stride}")
    vocab = vocabulary(text)
    ids = encode_all(text, vocab)
    n = len(ids)
    n_val, n_test = _part(n, val_fraction), _part(n, test_fraction)
    n_train = n - n_val - n_test
    parts = {"training": (0, n_train), "validation": (n_train, n_train + n_val)}
    if test_fraction > 0:
        parts["test"] = (n_train + n_val, n)
    windows_total = sum(max(0, (hi - lo - need) // stride + 1) for lo, hi in parts.values())
    size = windows_total * seq_len * 8 * 2
    if size > memory_limit:
        raise DataError(
            f"{source}: the windows would take {size / 2**30:.1f} GiB of memory (limit "
            f"{memory_limit / 2**30:.1f} GiB); raise the stride option or use a shorter text"
        )
    splits: list[Split] = []
    for name, (lo, hi) in parts.items():
        if hi - lo < need and (name == "training" or hi > lo):
            raise DataError(
                f"{source}: the {name} part has {hi - lo} characters, fewer than the sequence "
                f"length plus one ({need}); use a shorter sequence length, a smaller "
                f"validation/test fraction or a longer text"
            )
        splits.append(windows(ids[lo:hi], seq_len, stride))
    test = splits[2] if len(splits) > 2 else None
    return splits[0], splits[1], test, vocab
