"""Downloads against a loopback HTTP server serving small fixture files."""

import os
import socket

import pytest
import torch

from engine.data import DOWNLOADS, MIRROR_ENV, DataError, Remote, cache_root, load_dataset
from engine.data.download import fetch_file
from engine.project import DatasetSpec
from tests.engine.data.helpers import cifar_tar, md5, mnist_files


@pytest.fixture
def mnist_server(file_server, monkeypatch):
    """The server holds tiny MNIST files; the table points at it with their checksums."""
    files = mnist_files(n_train=30, n_test=10)
    table = []
    for name, data in files.items():
        file_server.files[f"/mnist/{name}"] = data
        table.append(Remote(name, (f"{file_server.base}/mnist/{name}",), md5(data)))
    monkeypatch.setitem(DOWNLOADS, "mnist", table)
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    return file_server


def mnist(cache, **kw):
    return load_dataset(DatasetSpec(source="download", name="mnist", val_fraction=0.2, **kw), cache_dir=cache)


def test_download_mnist_and_load_it(mnist_server, tmp_path):
    calls = []
    b = load_dataset(
        DatasetSpec(source="download", name="mnist", val_fraction=0.2),
        cache_dir=tmp_path,
        progress=lambda what, done, total: calls.append((what, done, total)),
    )
    assert (len(b.train), len(b.val), len(b.test)) == (24, 6, 10)
    assert b.input_shape == (1, 28, 28) and b.num_classes == 10
    assert sorted(p.name for p in (tmp_path / "mnist").glob("*.gz")) == sorted(mnist_files())
    assert not list((tmp_path / "mnist").glob("*.part"))
    assert calls and all(what.startswith("Downloading ") and done <= total for what, done, total in calls)


def test_cached_files_are_not_downloaded_again(mnist_server, tmp_path):
    first = mnist(tmp_path)
    count = len(mnist_server.requests)
    second = mnist(tmp_path)
    assert len(mnist_server.requests) == count == 4
    assert torch.equal(first.train.x, second.train.x)


def test_checksum_mismatch_is_an_error_and_leaves_no_file(mnist_server, tmp_path, monkeypatch):
    bad = DOWNLOADS["mnist"][0]
    monkeypatch.setitem(DOWNLOADS, "mnist", [Remote(bad.filename, bad.urls, "md5:" + "0" * 32)])
    with pytest.raises(DataError) as info:
        mnist(tmp_path)
    msg = str(info.value)
    assert bad.urls[0] in msg and "checksum mismatch" in msg and "try again" in msg.lower()
    assert not list((tmp_path / "mnist").iterdir())


def test_partial_download_resumes_with_a_range_request(mnist_server, tmp_path):
    name = "train-images-idx3-ubyte.gz"
    body = mnist_server.files[f"/mnist/{name}"]
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / f"{name}.part").write_bytes(body[:100])
    mnist(tmp_path)
    assert (f"/mnist/{name}", "bytes=100-") in mnist_server.requests
    assert (tmp_path / "mnist" / name).read_bytes() == body


def test_broken_transfer_keeps_the_part_and_the_next_try_resumes(mnist_server, tmp_path):
    name = "t10k-images-idx3-ubyte.gz"
    path = f"/mnist/{name}"
    mnist_server.drop.add(path)
    with pytest.raises(DataError, match="broke off"):
        mnist(tmp_path)
    part = tmp_path / "mnist" / f"{name}.part"
    size = part.stat().st_size
    assert 0 < size < len(mnist_server.files[path])
    mnist_server.drop.clear()
    b = mnist(tmp_path)
    assert (path, f"bytes={size}-") in mnist_server.requests and len(b.test) == 10


def test_server_ignoring_range_restarts_the_file(mnist_server, tmp_path):
    name = "train-labels-idx1-ubyte.gz"
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / f"{name}.part").write_bytes(b"stale bytes from elsewhere")
    mnist_server.honor_range = False
    mnist(tmp_path)
    assert (tmp_path / "mnist" / name).read_bytes() == mnist_server.files[f"/mnist/{name}"]


def test_not_found_names_the_url_and_what_to_do(mnist_server, tmp_path):
    del mnist_server.files["/mnist/train-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError) as info:
        mnist(tmp_path)
    msg = str(info.value)
    assert f"{mnist_server.base}/mnist/train-labels-idx1-ubyte.gz" in msg and "404" in msg
    assert MIRROR_ENV in msg and "internet connection" in msg


def test_unreachable_server_is_a_network_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: connection refused
    url = f"http://127.0.0.1:{port}/x.bin"
    with pytest.raises(DataError) as info:
        fetch_file([url], tmp_path / "x.bin", "md5:" + "0" * 32, timeout=5)
    assert url in str(info.value) and "no connection" in str(info.value)


def test_second_url_is_tried_when_the_first_fails(file_server, tmp_path):
    file_server.files["/b/x.bin"] = b"payload"
    urls = [f"{file_server.base}/a/x.bin", f"{file_server.base}/b/x.bin"]
    fetch_file(urls, tmp_path / "x.bin", md5(b"payload"))
    assert (tmp_path / "x.bin").read_bytes() == b"payload"


def test_mirror_env_replaces_the_urls(file_server, tmp_path, monkeypatch):
    files = mnist_files(n_train=10, n_test=0)
    table = []
    for name, data in files.items():
        file_server.files[f"/sets/mnist/{name}"] = data
        table.append(Remote(name, ("http://invalid.example/never",), md5(data)))
    monkeypatch.setitem(DOWNLOADS, "mnist", table)
    monkeypatch.setenv(MIRROR_ENV, f"{file_server.base}/sets/")
    b = mnist(tmp_path)
    assert len(b.train) + len(b.val) == 10 and len(b.test) == 0


def test_cifar10_binary_tar_is_downloaded_and_unpacked(file_server, tmp_path, monkeypatch):
    data = cifar_tar(per_batch=4, test=5)
    file_server.files["/cifar10/cifar-10-binary.tar.gz"] = data
    monkeypatch.setitem(DOWNLOADS, "cifar10", [Remote("cifar-10-binary.tar.gz", (), md5(data))])
    spec = DatasetSpec(source="download", name="cifar10", val_fraction=0.25,
                       options={"mirror": file_server.base})
    b = load_dataset(spec, cache_dir=tmp_path)
    assert b.input_shape == (3, 32, 32) and b.classes[0] == "airplane" and len(b.classes) == 10
    assert (len(b.train), len(b.val), len(b.test)) == (15, 5, 5)
    assert (tmp_path / "cifar10" / "cifar-10-batches-bin" / "data_batch_5.bin").is_file()
    grey = load_dataset(spec.model_copy(update={"grayscale": True}), cache_dir=tmp_path)
    assert grey.input_shape == (1, 32, 32) and len(file_server.requests) == 1


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LAYERFORGE_CACHE", str(tmp_path))
    assert cache_root() == tmp_path / "datasets"
    assert cache_root(tmp_path / "own") == tmp_path / "own"
    monkeypatch.delenv("LAYERFORGE_CACHE")
    assert cache_root() == cache_root(os.path.expanduser("~/.cache/layerforge/datasets"))


def test_published_checksums_are_well_formed():
    for name, remotes in DOWNLOADS.items():
        for r in remotes:
            algorithm, _, digest = r.checksum.partition(":")
            assert algorithm == "md5" and len(digest) == 32, name
            assert r.urls and all(u.startswith(("http://", "https://")) for u in r.urls)
