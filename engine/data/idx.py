"""MNIST-format IDX files (raw or gzip) and CIFAR-10 binary batches.

An IDX file starts with a magic number: two zero bytes, a type code (0x08 unsigned byte,
0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of
dimensions, then one big-endian int32 per dimension, then the values, big-endian.
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from engine.data import limits
from engine.data.core import DataError
from engine.data.limits import format_bytes
from engine.data.raw import Raw
from engine.files import file_size, read_error_message

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CIFAR_RECORD = 1 + 3 * 32 * 32


_CHUNK = 16 * 1024**2  # read and decompress in pieces: no temporary larger than this
_IDX_FILE, _CIFAR_FILE = "an IDX file", "a CIFAR-10 batch file"  # what a path should be


def _open(path: Path, what: str) -> BinaryIO:
    """The file's bytes as a stream: decompressed incrementally for ``.gz``, so what a
    file unpacks to is never held beyond what the reader asks for."""
    try:
        f: BinaryIO = open(path, "rb")  # noqa: SIM115 (returned to a with)
    except OSError as e:
        raise DataError(read_error_message(path, e, what=what)) from None
    if path.suffix.lower() == ".gz":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    return f


class _Reading:
    """Turns the errors of reading (and unpacking) ``path`` into :class:`DataError`."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> None:
        path = self.path
        if isinstance(exc, EOFError):
            raise DataError(f"{path}: the compressed file is truncated (it ends early)") from None
        if isinstance(exc, gzip.BadGzipFile | zlib.error):  # BadGzipFile is an OSError
            raise DataError(f"{path}: not a valid gzip file ({exc})") from None
        if isinstance(exc, OSError):
            raise DataError(read_error_message(path, exc, what=self.what)) from None


def _fill(f: BinaryIO, buf: memoryview) -> int:
    """Read into ``buf`` until it is full or the stream ends; the bytes read."""
    done = 0
    while done < len(buf):
        n = f.readinto(buf[done : done + _CHUNK])  # type: ignore[attr-defined]
        if not n:
            break
        done += n
    return done


def _read_capped(path: Path, limit: int, what: str) -> bytes:
    """All of ``path`` (``.gz`` unpacked), refused when it is or unpacks to over ``limit``."""
    size = file_size(path, DataError, what=_CIFAR_FILE)
    gz = path.suffix.lower() == ".gz"
    if not gz and size > limit:
        raise DataError(f"{path}: the file is {format_bytes(size)}, more than {what}")
    with _Reading(path, _CIFAR_FILE), _open(path, _CIFAR_FILE) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{path}: the file unpacks to more than {format_bytes(limit)}, more "
                        f"than {what}")
    return data


def _dims_text(dims: list[int]) -> str:
    return "x".join(map(str, dims))


def read_idx(path: Path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` is decompressed as it is read).

    Nothing is allocated beyond what the header declares, and only once the declared size is
    checked: against the file's size (raw), against how far a ``.gz`` may expand (see
    :mod:`engine.data.limits`), and against this machine's memory. A ``.gz`` that holds more
    than its header declares is refused after reading one byte past the declared end.
    """
    size = file_size(path, DataError, what=_IDX_FILE)
    gz = path.suffix.lower() == ".gz"
    with _Reading(path, _IDX_FILE), _open(path, _IDX_FILE) as f:
        head4 = f.read(4)
        if len(head4) < 4:
            raise DataError(f"{path}: truncated: expected at least 4 bytes of header, found "
                            f"{len(head4)}")
        zero, code, ndim = int.from_bytes(head4[:2], "big"), head4[2], head4[3]
        if zero != 0 or code not in _IDX_TYPES or ndim == 0:
            magic = int.from_bytes(head4, "big")
            raise DataError(
                f"{path}: not an IDX file: bad magic number 0x{magic:08x} (expected 0x0000TTDD, "
                f"TT a type code such as 08, DD the number of dimensions)"
            )
        head = 4 + 4 * ndim
        raw_dims = f.read(4 * ndim)
        if len(raw_dims) < 4 * ndim:
            raise DataError(f"{path}: truncated: expected {head} bytes of header, found "
                            f"{4 + len(raw_dims)}")
        dims = [int.from_bytes(raw_dims[4 * i : 4 * i + 4], "big") for i in range(ndim)]
        dtype = np.dtype(_IDX_TYPES[code])
        count = math.prod(dims)
        body = count * dtype.itemsize
        expected = head + body
        if not gz and size < expected:
            raise DataError(f"{path}: truncated: expected {expected} bytes for "
                            f"{_dims_text(dims)} values, found {size}")
        if not gz and size > expected:
            raise DataError(f"{path}: {size - expected} bytes of unexpected data after the "
                            f"{_dims_text(dims)} values")
        _check_memory(path, dims, count)
        if gz and body > limits.expansion_limit(size):
            raise DataError(
                f"{path}: the header declares {_dims_text(dims)} values "
                f"({format_bytes(body)}) but the compressed file is only {format_bytes(size)}; "
                f"a file that expands more than {limits.MAX_EXPANSION} times is damaged or "
                f"crafted, so LayerForge does not unpack it"
            )
        values = np.empty(count, dtype=dtype)
        got = _fill(f, memoryview(values).cast("B"))
        if got < body:
            raise DataError(f"{path}: truncated: expected {expected} bytes for "
                            f"{_dims_text(dims)} values, found {head + got}")
        if gz and f.read(1):
            raise DataError(
                f"{path}: the compressed file holds more data than its header declares "
                f"({_dims_text(dims)} values); it is damaged or crafted, so it is not unpacked "
                f"further"
            )
    if dtype.itemsize > 1:  # big-endian on disk: swap in place rather than copy
        values = values.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return values.reshape(dims)


def _check_memory(path: Path, dims: list[int], count: int) -> None:
    """Refuse a file whose declared values, as the float32 that training uses, exceed RAM."""
    ram = limits.physical_memory()
    need = count * 4
    if ram is not None and need > ram:
        raise DataError(
            f"{path}: the header declares {_dims_text(dims)} values ({format_bytes(need)} as "
            f"32-bit floats), more than this machine's memory ({format_bytes(ram)}); use a "
            f"smaller data set"
        )


def _find(folder: Path, kind: str, test: bool) -> Path | None:
    """The images (idx3) or labels (idx1) file of the train or test (t10k) set."""
    pattern = re.compile(rf"{kind}.*idx{3 if kind == 'images' else 1}", re.IGNORECASE)
    found = []
    for p in sorted(folder.iterdir()):
        name = p.name.lower()
        if name.startswith(".") or name.endswith((".part", ".verified", ".tmp")):
            continue
        if not p.is_file() or not pattern.search(name):
            continue
        if ("t10k" in name or "test" in name) == test:
            found.append(p)
    found.sort(key=lambda p: (p.suffix.lower() == ".gz", p.name))  # raw before .gz
    return found[0] if found else None


def _pair(folder: Path, test: bool) -> tuple[torch.Tensor, torch.Tensor] | None:
    images_path, labels_path = _find(folder, "images", test), _find(folder, "labels", test)
    what = "test (t10k)" if test else "training"
    if images_path is None and labels_path is None:
        if test:
            return None
        raise DataError(
            f"{folder}: no training image file (a name like train-images-idx3-ubyte or "
            f"*images*idx3*, optionally .gz)"
        )
    if images_path is None or labels_path is None:
        missing = "image (*images*idx3*)" if images_path is None else "label (*labels*idx1*)"
        raise DataError(f"{folder}: the {what} set has no {missing} file")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim not in (3, 4):
        raise DataError(
            f"{images_path}: expected images of 3 dimensions (count, height, width), "
            f"found {images.ndim}"
        )
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected labels of 1 dimension, found {labels.ndim}")
    if len(images) != len(labels):
        raise DataError(
            f"{folder}: {images_path.name} has {len(images)} images but {labels_path.name} "
            f"has {len(labels)} labels; they must match"
        )
    if labels.dtype.kind not in "iu" or (len(labels) and labels.min() < 0):
        raise DataError(f"{labels_path}: labels must be whole numbers of 0 or more")
    top = int(labels.max()) if len(labels) else 0
    if top >= limits.MAX_CLASSES:  # one class name per label value: refuse before making them
        raise DataError(
            f"{labels_path}: labels go up to {top:,}; LayerForge supports at most "
            f"{limits.MAX_CLASSES:,} classes (labels 0 to {limits.MAX_CLASSES - 1:,})"
        )
    x = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    if x.dtype != np.uint8:
        x = x.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(labels.astype(np.int64))


def read_idx_folder(folder: Path, source: str, classes: list[str] | None = None) -> Raw:
    """Images and labels from an MNIST-style folder; a t10k pair becomes the test split."""
    if not folder.exists():
        raise DataError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{folder}: is a file; an IDX data set is a folder holding the files")
    x, y = _pair(folder, test=False)  # type: ignore[misc]
    test = _pair(folder, test=True)
    if test is not None and test[0].shape[1:] != x.shape[1:]:
        raise DataError(
            f"{folder}: test images are {tuple(test[0].shape[1:])} but training images are "
            f"{tuple(x.shape[1:])}"
        )
    top = int(max(y.max() if len(y) else 0, test[1].max() if test and len(test[1]) else 0))
    if classes is None or len(classes) <= top:
        classes = [str(i) for i in range(top + 1)]
    return Raw("image", x, y, "class", source, classes=classes, test=test)


def read_cifar_batches(files: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [N, 3, 32, 32] (uint8) and labels from CIFAR-10 binary batch files."""
    xs, ys = [], []
    limit = limits.MAX_CIFAR_RECORDS * CIFAR_RECORD
    what = f"{limits.MAX_CIFAR_RECORDS:,} records (a CIFAR-10 batch file holds 10,000)"
    for path in files:
        data = _read_capped(path, limit, what)
        if len(data) == 0 or len(data) % CIFAR_RECORD:
            records = len(data) // CIFAR_RECORD + 1
            raise DataError(
                f"{path}: truncated: expected {records * CIFAR_RECORD} bytes "
                f"({records} records of {CIFAR_RECORD}), found {len(data)}"
            )
        rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
        if rec[:, 0].max() > 9:
            raise DataError(f"{path}: a label is {int(rec[:, 0].max())}; CIFAR-10 has labels 0-9")
        ys.append(rec[:, 0].astype(np.int64))
        xs.append(rec[:, 1:].reshape(-1, 3, 32, 32))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))
