"""Downloadable public data sets, fetched with checksums into a cache folder.

Each file is downloaded to ``NAME.part`` next to its final place, resumed with an HTTP
Range request when a partial ``.part`` is there, checked against the published checksum
and only then renamed into place (atomic). A verified file gets a small hidden
``.NAME.verified`` stamp (size, mtime, checksum) so later loads do not hash it again.

The cache folder is the ``cache_dir`` argument, else ``$LAYERFORGE_CACHE/datasets``, else
``~/.cache/layerforge/datasets``. :data:`DOWNLOADS` is the table of files, URLs and
checksums; a mirror (argument, or ``$LAYERFORGE_DATA_MIRROR``) replaces every URL with
``MIRROR/SET/FILENAME``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.data import limits
from engine.data.core import DataError
from engine.data.limits import format_bytes
from engine.errors import os_reason

CACHE_ENV = "LAYERFORGE_CACHE"
MIRROR_ENV = "LAYERFORGE_DATA_MIRROR"
CHUNK = 1 << 20
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Remote:
    """One file of a downloadable set: where it comes from and its published checksum
    (``"md5:HEX"`` or ``"sha256:HEX"``)."""

    filename: str
    urls: tuple[str, ...]
    checksum: str
    max_bytes: int = limits.MAX_DOWNLOAD_BYTES  # a server sending more is cut off


def _files(bases: tuple[str, ...], sums: dict[str, str]) -> list[Remote]:
    return [Remote(name, tuple(b + name for b in bases), f"md5:{md5}") for name, md5 in sums.items()]


# Checksums as published with the data sets (and listed by torchvision).
DOWNLOADS: dict[str, list[Remote]] = {
    "mnist": _files(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": _files(
        (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
    "cifar10": _files(
        ("https://www.cs.toronto.edu/~kriz/",),
        {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
    ),
}

DOWNLOADABLE: dict[str, str] = {
    "mnist": "MNIST handwritten digits, 28x28 grey, 60000 train + 10000 test (11 MB)",
    "fashion-mnist": "Fashion-MNIST clothing, 28x28 grey, 60000 train + 10000 test (30 MB)",
    "cifar10": "CIFAR-10 photos, 32x32 colour, 10 classes, 50000 + 10000 (163 MB)",
}


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """The folder downloads are cached in (see the module docstring)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser() / "datasets"
    return Path.home() / ".cache" / "layerforge" / "datasets"


def _hash(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _split_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, want = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not re.fullmatch(r"[0-9a-fA-F]+", want):
        raise ValueError(f"checksum must be 'md5:HEX' or 'sha256:HEX', not {checksum!r}")
    return algorithm, want.lower()


def _stamp(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _is_verified(path: Path, checksum: str) -> bool:
    """Whether ``path`` holds the file with ``checksum`` (hashing only when needed)."""
    if not path.is_file():
        return False
    st = path.stat()
    record = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "checksum": checksum}
    try:
        if json.loads(_stamp(path).read_text()) == record:
            return True
    except (OSError, ValueError):
        pass
    algorithm, want = _split_checksum(checksum)
    if _hash(path, algorithm) != want:
        return False
    try:
        _stamp(path).write_text(json.dumps(record))
    except OSError:
        pass  # a read-only cache still works, it just hashes again next time
    return True


def fetch_set(
    name: str,
    cache_dir: Path | str | None = None,
    *,
    mirror: str | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download (or find in the cache) every file of set ``name``; return its folder."""
    if name not in DOWNLOADS:
        raise DataError(f"'{name}' is not a downloadable data set; choose one of {', '.join(DOWNLOADS)}")
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    folder = cache_root(cache_dir) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{folder}: cannot create the download folder ({os_reason(e)})") from None
    for remote in DOWNLOADS[name]:
        dest = folder / remote.filename
        if _is_verified(dest, remote.checksum):
            continue
        dest.unlink(missing_ok=True)
        urls = (f"{mirror.rstrip('/')}/{name}/{remote.filename}",) if mirror else remote.urls
        fetch_file(urls, dest, remote.checksum, progress=progress, timeout=timeout,
                   max_bytes=remote.max_bytes)
    return folder


def fetch_file(
    urls: tuple[str, ...] | list[str],
    dest: Path,
    checksum: str,
    *,
    progress: Progress | None = None,
    timeout: float = 30.0,
    max_bytes: int = limits.MAX_DOWNLOAD_BYTES,
) -> Path:
    """Download ``dest`` from the first of ``urls`` that works and verify ``checksum``. A
    server that announces or sends more than ``max_bytes`` is cut off (the partial file is
    deleted), so a hostile or broken mirror cannot fill the disk."""
    problems = []
    damaged = True
    for url in urls:
        try:
            _download(url, dest, checksum, progress, timeout, max_bytes)
            return dest
        except _Failed as e:
            problems.append(f"{url}: {e}")
            damaged = damaged and e.damaged
    tried = "; ".join(problems)
    if damaged and problems:
        advice = (
            "Try again; if it happens again, the server or a proxy serves a different file: "
            f"set {MIRROR_ENV} to another mirror, or put the correct file there yourself"
        )
    else:
        advice = (
            "Check the internet connection and try again (a partial download resumes where "
            f"it stopped), set {MIRROR_ENV} to a mirror that has the file, or put the file "
            "there yourself"
        )
    raise DataError(f"Could not download {dest.name}. {tried}. {advice}: {dest}")


class _Failed(Exception):
    """One URL did not deliver the file; the message says why. ``damaged``: it delivered
    a file, but not the expected one."""

    def __init__(self, message: str, damaged: bool = False) -> None:
        super().__init__(message)
        self.damaged = damaged


def _download(url: str, dest: Path, checksum: str, progress: Progress | None, timeout: float,
              max_bytes: int) -> None:
    algorithm, want = _split_checksum(checksum)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "LayerForge", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and have:  # nothing left to send: the .part may be complete
            _finish(part, dest, algorithm, want)
            return
        raise _Failed(f"the server answered HTTP {e.code} ({e.reason})") from None
    except (urllib.error.URLError, OSError) as e:
        raise _Failed(f"no connection ({getattr(e, 'reason', e)})") from None
    with response:
        resumed = bool(have) and response.status == 206 and _range_start(response) == have
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else 0
        too_big = (f"the server sends more than {max_bytes:,} bytes "
                   f"({format_bytes(max_bytes)}), more than this file can be")
        if total > max_bytes:
            part.unlink(missing_ok=True)
            raise _Failed(too_big, damaged=True)
        done = have
        try:
            with open(part, "ab" if resumed else "wb") as f:
                while chunk := response.read(min(CHUNK, max_bytes + 1 - done)):
                    f.write(chunk)
                    done += len(chunk)
                    if done > max_bytes:
                        break
                    if progress is not None:
                        progress(f"Downloading {dest.name}", done, total)
        except (OSError, http.client.HTTPException) as e:
            raise _Failed(f"the transfer broke off after {done} bytes ({e!r})") from None
        if done > max_bytes:
            part.unlink(missing_ok=True)
            raise _Failed(too_big, damaged=True)
    if total and done < total:
        raise _Failed(f"the transfer broke off after {done} of {total} bytes")
    _finish(part, dest, algorithm, want)


def _range_start(response) -> int:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else -1


def _finish(part: Path, dest: Path, algorithm: str, want: str) -> None:
    got = _hash(part, algorithm)
    if got != want:
        part.unlink(missing_ok=True)
        raise _Failed(
            f"checksum mismatch: the downloaded file has {algorithm.upper()} {got} but should "
            f"have {want}, so it is damaged or not the expected file; it was deleted",
            damaged=True,
        )
    os.replace(part, dest)
    _is_verified(dest, f"{algorithm}:{want}")  # writes the stamp


def _checked_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """The archive's members, read header by header (no data) and refused as soon as they
    exceed ``limits.MAX_ARCHIVE_MEMBERS`` or unpack to more than the archive may expand to."""
    size = archive.stat().st_size
    cap = min(limits.MAX_UNPACKED_BYTES, limits.expansion_limit(size))
    members: list[tarfile.TarInfo] = []
    total = 0
    while (info := tar.next()) is not None:
        if len(members) >= limits.MAX_ARCHIVE_MEMBERS:
            raise DataError(f"{archive}: the archive holds more than "
                            f"{limits.MAX_ARCHIVE_MEMBERS:,} files; it is not a data set "
                            f"LayerForge unpacks; delete it to download again")
        total += max(info.size, 0)
        if total > cap:
            raise DataError(
                f"{archive}: the archive would unpack to {format_bytes(total)} or more from "
                f"{format_bytes(size)}; LayerForge unpacks at most {format_bytes(cap)} from "
                f"it, so it is damaged or crafted; delete it to download again"
            )
        members.append(info)
    return members


def extract_tar(archive: Path, folder: Path, member_dir: str) -> Path:
    """Unpack ``archive`` into ``folder`` once (data filter: no links out, no devices) and
    return ``folder / member_dir``. Unpacking goes to a temporary folder first, so a broken
    archive never leaves a half-unpacked set behind; an archive that expands without bound
    (see :mod:`engine.data.limits`) is refused from its headers before anything is written."""
    target = folder / member_dir
    done = target / ".complete"
    if done.is_file():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder))
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _checked_members(tar, archive)
            tar.extractall(tmp, members=members, filter="data")
        unpacked = tmp / member_dir
        if not unpacked.is_dir():
            raise DataError(f"{archive}: the archive has no folder {member_dir}")
        (unpacked / ".complete").touch()
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"{archive}: cannot unpack the archive ({e}); delete it to download again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
