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

import numpy as np
import torch

from engine.data.core import DataError
from engine.data.raw import Raw

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CIFAR_RECORD = 1 + 3 * 32 * 32


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror})") from None
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except EOFError:
            raise DataError(f"{path}: the compressed file is truncated (it ends early)") from None
        except (OSError, zlib.error) as e:
            raise DataError(f"{path}: not a valid gzip file ({e})") from None
    return data


def read_idx(path: Path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` is decompressed)."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated: expected at least 4 bytes of header, found {len(data)}")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in _IDX_TYPES or ndim == 0:
        magic = int.from_bytes(data[:4], "big")
        raise DataError(
            f"{path}: not an IDX file: bad magic number 0x{magic:08x} (expected 0x0000TTDD, "
            f"TT a type code such as 08, DD the number of dimensions)"
        )
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DataError(f"{path}: truncated: expected {head} bytes of header, found {len(data)}")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_IDX_TYPES[code])
    expected = head + math.prod(dims) * dtype.itemsize
    if len(data) < expected:
        raise DataError(
            f"{path}: truncated: expected {expected} bytes for {'x'.join(map(str, dims))} "
            f"values, found {len(data)}"
        )
    if len(data) > expected:
        raise DataError(
            f"{path}: {len(data) - expected} bytes of unexpected data after the "
            f"{'x'.join(map(str, dims))} values"
        )
    values = np.frombuffer(data, dtype=dtype, offset=head).reshape(dims)
    return values.astype(dtype.newbyteorder("="))  # a writable, native-order copy


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
    for path in files:
        data = _read_bytes(path)
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
