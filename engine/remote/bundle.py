"""What a remote run needs uploaded: the engine itself (a content-hashed tarball of the
pure-Python ``engine`` package) and the dataset files a project references."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from functools import lru_cache
from pathlib import Path, PurePosixPath

from engine.data.facts import FILE_SOURCES
from engine.errors import os_error_message
from engine.project import DatasetSpec
from engine.remote.config import RemoteError

ENGINE_ROOT = Path(__file__).resolve().parents[1]  # the `engine` package folder


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
    name starts with the root's own name. Built-in and download sources need no upload.

    Symbolic links inside the folder are followed only where they lead to somewhere inside
    it (a class folder that links to another one is uploaded like a copy); a link that leads
    out of it is refused with a RemoteError naming the link and its target, since a dataset
    folder is no licence to upload ``~/.ssh`` or the rest of the disk to a host."""
    if spec.source not in FILE_SOURCES:
        return Path(), []
    root = Path(spec.path).expanduser()
    if not root.exists():
        raise RemoteError(f"{spec.source}: {root} does not exist")
    if root.is_file():
        return root, [(root, root.name)]
    files = _DatasetWalk(root, spec.source).run()
    if not files:
        raise RemoteError(f"{spec.source}: {root} holds no files")
    return root, files


class _DatasetWalk:
    """The files of a dataset folder, following only the links that stay inside it."""

    MAX_DEPTH = 32

    def __init__(self, root: Path, source: str) -> None:
        self.root, self.source = root, source
        self.real_root = Path(os.path.realpath(root))  # the root may itself be a link
        self.files: list[tuple[Path, str]] = []

    def run(self) -> list[tuple[Path, str]]:
        try:
            self.visit(self.root, PurePosixPath(self.root.name), [self.real_root])
        except OSError as e:
            raise RemoteError(f"{self.source} dataset: "
                              f"{os_error_message(e, 'cannot read')}") from None
        return self.files

    def refuse(self, link: Path, why: str) -> RemoteError:
        return RemoteError(f"{self.source} dataset {self.root}: {link} is a symbolic link to "
                           f"{why}; LayerForge uploads only what is inside the dataset folder: "
                           "copy the data into it, or remove the link")

    def visit(self, folder: Path, rel: PurePosixPath, stack: list[Path]) -> None:
        if len(stack) > self.MAX_DEPTH:
            raise RemoteError(f"{self.source} dataset {self.root}: {folder} is nested more "
                              f"than {self.MAX_DEPTH} folders deep")
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path, name = Path(entry.path), rel / entry.name
            if entry.is_symlink():
                target = Path(os.path.realpath(path))
                if not target.is_relative_to(self.real_root):
                    raise self.refuse(path, f"{target}, outside the dataset folder")
                if target.is_dir():
                    if target in stack:
                        raise self.refuse(path, f"{target}, a folder that holds it (a loop)")
                    self.visit(path, name, [*stack, target])
                elif target.is_file():
                    self.files.append((path, name.as_posix()))
                # a dangling link: skipped, as the data loaders do not see it either
            elif entry.is_dir(follow_symlinks=False):
                self.visit(path, name, [*stack, Path(os.path.realpath(path))])
            elif entry.is_file(follow_symlinks=False):
                self.files.append((path, name.as_posix()))


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
