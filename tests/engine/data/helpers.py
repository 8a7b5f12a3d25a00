"""Writers for small but real data files: IDX (raw and gzip), PNG folders, CIFAR tars."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

CIFAR_RECORD = 1 + 3 * 32 * 32


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file holding ``array``."""
    head = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return head + array.astype(np.uint8).tobytes()


def mnist_arrays(n: int, seed: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Random images whose mean brightness encodes the label (so they are not all alike)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 20, (n, size, size)) + labels[:, None, None] * 20
    return images.astype(np.uint8), labels.astype(np.uint8)


def mnist_files(n_train: int = 30, n_test: int = 10, size: int = 28) -> dict[str, bytes]:
    """Standard MNIST file names (.gz) -> gzip bytes."""
    xtr, ytr = mnist_arrays(n_train, 1, size)
    xte, yte = mnist_arrays(n_test, 2, size)
    raw = {
        "train-images-idx3-ubyte": idx_bytes(xtr),
        "train-labels-idx1-ubyte": idx_bytes(ytr),
        "t10k-images-idx3-ubyte": idx_bytes(xte),
        "t10k-labels-idx1-ubyte": idx_bytes(yte),
    }
    return {f"{k}.gz": gzip.compress(v, mtime=0) for k, v in raw.items()}


def write_mnist_folder(folder: Path, *, gz: bool, n_train: int = 30, n_test: int = 10) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in mnist_files(n_train, n_test).items():
        if gz:
            (folder / name).write_bytes(data)
        else:
            (folder / name.removesuffix(".gz")).write_bytes(gzip.decompress(data))
    return folder


def write_png_folder(
    root: Path, counts: dict[str, int], size: tuple[int, int] = (8, 8), mode: str = "RGB"
) -> Path:
    """One sub-folder per class, each image a flat colour that depends on class and index."""
    for k, (name, count) in enumerate(counts.items()):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            value = (40 * k + 7 * i) % 256
            colour = value if mode == "L" else (value, 255 - value, (value * 3) % 256)
            Image.new(mode, size, colour).save(d / f"img{i:03d}.png")
    return root


def cifar_batch(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    records = rng.integers(0, 256, (n, CIFAR_RECORD), dtype=np.uint8)
    records[:, 0] = np.arange(n) % 10
    return records.tobytes()


def cifar_tar(per_batch: int = 4, test: int = 5) -> bytes:
    """A tiny cifar-10-binary.tar.gz: five data batches, a test batch and the class names."""
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": cifar_batch(per_batch, i) for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = cifar_batch(test, 9)
    names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"
    members["cifar-10-batches-bin/batches.meta.txt"] = names.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()
