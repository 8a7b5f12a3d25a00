"""Hostile data files cannot eat the machine: class counts, decompression and sizes are capped,
and each refusal is a sentence naming the file. No test here holds more than a few MB."""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from engine.data import DataError, limits, load_dataset
from engine.data.download import extract_tar
from engine.data.idx import CIFAR_RECORD, read_cifar_batches, read_idx
from engine.project import DatasetSpec
from tests.engine.data.helpers import idx_bytes, mnist_arrays

MB = 1 << 20


def error(source: str, path, **kw) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(DatasetSpec(source=source, path=str(path), **kw))
    return str(info.value)


def int32_idx(values: np.ndarray) -> bytes:
    """A 1-dimensional IDX file of big-endian int32 values (type code 0x0C)."""
    head = bytes([0, 0, 0x0C, 1]) + len(values).to_bytes(4, "big")
    return head + values.astype(">i4").tobytes()


def zero_bomb(head: bytes, zeros: int) -> bytes:
    """gzip of ``head`` followed by ``zeros`` zero bytes, built 1 MB at a time: one member
    with the head, then repeats of one compressed 1 MB member (gzip allows many members)."""
    chunk = gzip.compress(bytes(MB), compresslevel=9, mtime=0)
    full, rest = divmod(zeros, MB)
    return gzip.compress(head + bytes(rest), mtime=0) + chunk * full


def peak_mb(fn) -> float:
    """Peak Python/numpy allocation (MB) while ``fn`` runs; numpy reports to tracemalloc."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / MB


def write_idx_pair(folder: Path, labels: bytes, n: int = 98) -> None:
    images, _ = mnist_arrays(n, 1, size=4)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (folder / "train-labels-idx1-ubyte").write_bytes(labels)


# --- 5: class counts ---------------------------------------------------------------------


@pytest.mark.parametrize("top", [2**31 - 1, 200_000])
def test_idx_labels_beyond_the_class_cap_are_refused(tmp_path, top):
    labels = np.arange(98) % 10
    labels[5] = top
    data = int32_idx(labels)
    assert len(data) == 400
    write_idx_pair(tmp_path, data)
    msg = error("idx", tmp_path)
    assert "train-labels-idx1-ubyte" in msg
    assert f"labels go up to {top:,}" in msg and f"at most {limits.MAX_CLASSES:,} classes" in msg


def test_csv_with_too_many_distinct_classes_is_refused(tmp_path):
    path = tmp_path / "many.csv"
    n = limits.MAX_CLASSES + 1
    path.write_text("x,label\n" + "".join(f"{i},c{i}\n" for i in range(n)))
    msg = error("csv", path)
    assert str(path) in msg and "'label'" in msg
    assert f"more than {limits.MAX_CLASSES:,} different classes" in msg


def test_folder_with_too_many_class_folders_is_refused(tmp_path):
    for i in range(limits.MAX_CLASSES + 1):
        (tmp_path / f"c{i:05d}").mkdir()
    msg = error("folder", tmp_path)
    assert str(tmp_path) in msg and f"more than {limits.MAX_CLASSES:,} class folders" in msg


# --- 5: decompression and sizes ------------------------------------------------------------


def test_gzip_expanding_far_beyond_its_header_is_refused_without_holding_it(tmp_path):
    """Header: 10 labels. Stream: 196 MB of zeros after them, in a 200 KB file."""
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(zero_bomb(idx_bytes(np.zeros(10)), 196 * MB))
    assert path.stat().st_size < 250_000
    with pytest.raises(DataError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and "more data than its header declares" in msg
    assert peak_mb(lambda: pytest.raises(DataError, read_idx, path)) < 16


def test_gzip_whose_header_declares_a_bomb_is_refused_before_unpacking(tmp_path):
    """Header and stream agree on 196 MB of pixels, packed into a 200 KB file."""
    n = 250_000
    head = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(zero_bomb(head, n * 28 * 28))
    with pytest.raises(DataError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and "196 MB" in msg and "compressed" in msg
    assert peak_mb(lambda: pytest.raises(DataError, read_idx, path)) < 16


def test_idx_declaring_more_than_the_memory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "physical_memory", lambda: 32_000_000)
    images, _ = mnist_arrays(12_000, 1, size=28)  # 9.4 MB, 38 MB as float32
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(images), compresslevel=1, mtime=0))
    with pytest.raises(DataError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and "37.6 MB" in msg and "32.0 MB" in msg and "memory" in msg


def test_huge_csv_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:  # sparse: takes no disk space
        f.truncate(limits.MAX_CSV_BYTES + 1)
    msg = error("csv", path)
    assert str(path) in msg and "at most" in msg and "MB" in msg
    assert peak_mb(lambda: error("csv", path)) < 16


def test_oversized_cifar_batch_is_refused_before_reading(tmp_path):
    path = tmp_path / "data_batch_1.bin"
    with open(path, "wb") as f:  # sparse
        f.truncate((limits.MAX_CIFAR_RECORDS + 1) * CIFAR_RECORD)
    with pytest.raises(DataError) as info:
        read_cifar_batches([path])
    assert str(path) in str(info.value) and f"{limits.MAX_CIFAR_RECORDS:,} records" in str(info.value)
    assert peak_mb(lambda: pytest.raises(DataError, read_cifar_batches, [path])) < 16


def _tar_gz(members: dict[str, int]) -> bytes:
    """A tar.gz whose members are runs of zeros of the given sizes (streamed, never held)."""

    class Zeros(io.RawIOBase):
        def __init__(self, n: int) -> None:
            self.left = n

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:
            k = min(len(b), self.left)
            b[:k] = bytes(k)
            self.left -= k
            return k

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, size in members.items():
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BufferedReader(Zeros(size)))
    return buf.getvalue()


def test_archive_that_expands_without_bound_is_refused(tmp_path):
    archive = tmp_path / "set.tar.gz"
    archive.write_bytes(_tar_gz({"d/data_batch_1.bin": 80_000_000}))
    assert archive.stat().st_size < MB
    with pytest.raises(DataError) as info:
        extract_tar(archive, tmp_path, "d")
    assert str(archive) in str(info.value) and "80.0 MB or more" in str(info.value)
    assert not (tmp_path / "d").exists() and not list(tmp_path.glob(".unpack-*"))


def test_archive_with_too_many_members_is_refused(tmp_path):
    archive = tmp_path / "set.tar.gz"
    archive.write_bytes(_tar_gz({f"d/f{i}": 0 for i in range(limits.MAX_ARCHIVE_MEMBERS + 1)}))
    with pytest.raises(DataError) as info:
        extract_tar(archive, tmp_path, "d")
    assert f"more than {limits.MAX_ARCHIVE_MEMBERS:,} files" in str(info.value)
    assert not (tmp_path / "d").exists()


def test_download_longer_than_the_file_can_be_is_cut_off(file_server, tmp_path):
    from engine.data import Remote
    from engine.data.download import fetch_file
    from tests.engine.data.helpers import md5

    body = bytes(5000)
    file_server.files["/big.bin"] = body
    remote = Remote("big.bin", (f"{file_server.base}/big.bin",), md5(body), max_bytes=1000)
    with pytest.raises(DataError) as info:
        fetch_file(remote.urls, tmp_path / "big.bin", remote.checksum, max_bytes=remote.max_bytes)
    assert "more than 1,000 bytes" in str(info.value)
    assert not list(tmp_path.iterdir())


# --- 7: broken CSV files ---------------------------------------------------------------------


def test_csv_of_only_delimiters(tmp_path):
    path = tmp_path / "commas.csv"
    path.write_text(",,,\n,,,\n\n, ,\n")
    msg = error("csv", path)
    assert str(path) in msg and "no values" in msg


def test_delimiter_of_two_characters_names_the_field(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1,2,x\n3,4,y\n")
    msg = error("csv", path, options={"delimiter": "ab"})
    assert "dataset.options.delimiter" in msg and "'ab'" in msg and "one character" in msg


def test_compressed_idx_still_loads(tmp_path):
    """The capped reader reads a normal .gz pair exactly like the raw one."""
    images, labels = mnist_arrays(30, 3)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        zlib.compress(idx_bytes(labels), wbits=31))
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    b = load_dataset(DatasetSpec(source="idx", path=str(tmp_path), normalize=False))
    assert b.num_classes == 10 and len(b.train) + len(b.val) == 30


@pytest.mark.parametrize("value", ["abc", True, 2.5, None, 10**23])
def test_nonsense_numeric_option_names_the_field(value):
    spec = DatasetSpec(source="builtin", name="spirals", samples=100, options={"seed": value})
    with pytest.raises(DataError, match=r"^dataset\.options\.seed must be "):
        load_dataset(spec)


def test_nonsense_stream_threshold_names_the_field(tmp_path):
    from tests.engine.data.helpers import write_png_folder

    write_png_folder(tmp_path, {"a": 2, "b": 2})
    msg = error("folder", tmp_path, options={"stream_threshold": "lots"})
    assert msg == "dataset.options.stream_threshold must be a whole number, not 'lots'"
