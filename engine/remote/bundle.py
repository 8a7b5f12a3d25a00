"""What a remote run needs uploaded: the engine itself (a content-hashed tarball of the
pure-Python ``engine`` package) and the dataset files a project references."""

from __future__ import annotations

import hashlib
import io
import tarfile
from functools import lru_cache
from pathlib import Path

from engine.project import DatasetSpec
from engine.remote.config import RemoteError

ENGINE_ROOT = Path(__file__).resolve().parents[1]  # the `engine` package folder
FILE_SOURCES = ("folder", "idx", "csv", "text")


def engine_files() -> list[Path]:
    """Every source file of the engine package, in a stable order (no caches, no app/)."""
    return sorted(p for p in ENGINE_ROOT.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


@lru_cache(maxsize=1)
def engine_bundle() -> tuple[str, bytes]:
    """(version hash, tar.gz bytes) of the engine. The hash covers paths and contents, so
    a host keeps one folder per distinct engine and reuses it."""
    digest = hashlib.sha256()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        for path in engine_files():
            rel = path.relative_to(ENGINE_ROOT.parent).as_posix()
            data = path.read_bytes()
            digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return digest.hexdigest()[:20], buf.getvalue()


def dataset_files(spec: DatasetSpec) -> tuple[Path, list[tuple[Path, str]]]:
    """For a file-backed dataset: its root path and ``(file, relative name)`` pairs, where the
    name starts with the root's own name. Built-in and download sources need no upload."""
    if spec.source not in FILE_SOURCES:
        return Path(), []
    root = Path(spec.path).expanduser()
    if not root.exists():
        raise RemoteError(f"{spec.source}: {root} does not exist")
    if root.is_file():
        return root, [(root, root.name)]
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if not files:
        raise RemoteError(f"{spec.source}: {root} holds no files")
    return root, [(p, (Path(root.name) / p.relative_to(root)).as_posix()) for p in files]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def files_digest(files: list[tuple[Path, str]]) -> str:
    """A checksum of a file set (names and contents): the remote folder's name."""
    h = hashlib.sha256()
    for path, rel in files:
        h.update(rel.encode() + b"\0" + file_sha256(path).encode() + b"\n")
    return h.hexdigest()[:24]
