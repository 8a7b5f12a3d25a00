"""What a remote run needs uploaded: the engine itself (a content-hashed tarball of the
pure-Python ``engine`` package) and the dataset files a project references."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath

from engine.data.facts import FILE_SOURCES
from engine.errors import os_error_message
from engine.project import DatasetSpec
from engine.remote.config import RemoteError

ENGINE_ROOT = Path(__file__).resolve().parents[1]  # the `engine` package folder
VISION_SOURCES = ("segmentation", "detection")
#: dataset fields naming a second file or folder a set reads (``engine.data.paths``)
SECOND_PATHS = ("target_path", "noise_path")


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


@dataclass
class DatasetUpload:
    """What a file dataset sends to a host: ``files`` as ``(file, name)`` pairs, each name
    starting with the name of the folder (or file) ``root``, and ``places``: for each
    dataset field the run reads a path from (``path``; ``annotations`` and ``labels`` when
    set), its position under ``root`` ("" for ``root`` itself). The host's copy of the
    project gets the same positions inside the uploaded copy (:func:`relocate`)."""

    root: Path
    files: list[tuple[Path, str]]
    places: dict[str, str] = field(default_factory=lambda: {"path": ""})


def dataset_upload(spec: DatasetSpec) -> DatasetUpload | None:
    """What a remote run of ``spec`` uploads; None for built-in and download sources.

    Symbolic links inside the folder are followed only where they lead to somewhere inside
    it (a class folder that links to another one is uploaded like a copy); a link that leads
    out of it is refused with a RemoteError naming the link and its target, since a dataset
    folder is no licence to upload ``~/.ssh`` or the rest of the disk to a host."""
    if spec.source not in FILE_SOURCES:
        return None
    reads = _second_paths(spec)
    if reads is not None:
        return _parts_upload(spec, reads)
    root = Path(spec.path).expanduser()
    if not root.exists():
        raise RemoteError(f"{spec.source}: {root} does not exist")
    if root.is_file():
        return DatasetUpload(root, [(root, root.name)])
    files = _DatasetWalk(root, spec.source).run()
    if not files:
        raise RemoteError(f"{spec.source}: {root} holds no files")
    return DatasetUpload(root, files)


def dataset_files(spec: DatasetSpec) -> tuple[Path, list[tuple[Path, str]]]:
    """:func:`dataset_upload` as ``(root, files)``; ``(Path(), [])`` for sources that need
    no upload."""
    upload = dataset_upload(spec)
    return (Path(), []) if upload is None else (upload.root, upload.files)


def _second_paths(spec: DatasetSpec) -> dict[str, Path] | None:
    """The places a data set reads besides ``dataset.path``, by field, when it has any: a
    segmentation or detection set's annotations and class-names file (found from the
    layout when not named), aligned pairs' target file, a speech set's transcripts file and
    the background noise folder (``engine.data.paths``); None when ``path`` is all."""
    if spec.source in VISION_SOURCES:
        from engine.data.annotations import set_paths

        found = set_paths(spec)
        reads = {"path": found.path, "annotations": found.annotations, "labels": found.labels}
        return {k: v for k, v in reads.items() if v is not None}
    from engine.data.paths import beside

    extra = {k: beside(spec, getattr(spec, k)) for k in SECOND_PATHS
             if getattr(spec, k).strip()}
    return {"path": Path(spec.path).expanduser(), **extra} if extra else None


def _parts_upload(spec: DatasetSpec, reads: dict[str, Path]) -> DatasetUpload:
    """A data set that reads files beside ``dataset.path`` (annotations, a labels file,
    transcripts, noise clips) is uploaded as the folder holding them all (those parts,
    nothing else), so their relative positions, and so the layout the host finds them by,
    stay as they are."""
    # absolute but not resolved: a link is judged by the walk, as in any dataset folder
    reads = {k: Path(os.path.abspath(v)) for k, v in reads.items()}  # noqa: PTH100
    top = Path(os.path.commonpath(list(reads.values())))
    _refuse_too_wide(spec.source, top, reads)
    parts = sorted(set(reads.values()))
    parts = [p for i, p in enumerate(parts)
             if not any(p.is_relative_to(q) for q in parts[:i])]  # not under another part
    files = _DatasetWalk(top, spec.source).run(parts)
    if not files:
        raise RemoteError(f"{spec.source}: {reads['path']} holds no files")
    places = {k: "" if p == top else p.relative_to(top).as_posix() for k, p in reads.items()
              if k == "path" or getattr(spec, k).strip()}
    return DatasetUpload(top, files, places)


def _refuse_too_wide(source: str, top: Path, reads: dict[str, Path]) -> None:
    """Refuse an upload of the whole disk or home folder (or a folder holding it): what a
    set's paths that have nothing else in common would ask for."""
    home = Path.home()
    for folder in {top, Path(os.path.realpath(top))}:
        if folder.parent == folder:
            where = "the file system root"
        elif folder == home:
            where = "your home folder"
        elif home.is_relative_to(folder):
            where = "a folder that holds your home folder"
        else:
            continue
        names = ", ".join(f"{p} (dataset.{k})" for k, p in reads.items())
        raise RemoteError(
            f"{source} dataset: its files ({names}) have no folder in common but {where}, "
            f"{folder}: too much to upload to a host. Put them together in one folder of "
            "their own (the annotations, labels, transcripts or noise beside the data), and "
            "choose them from there")


def relocate(spec: DatasetSpec, upload: DatasetUpload, remote_root: str) -> dict[str, str]:
    """Point ``spec``'s fields at their places inside the host's copy of the upload (at
    ``remote_root``); the local values they had, for :func:`restore_dataset`."""
    local = {}
    for name, rel in upload.places.items():
        local[name] = getattr(spec, name)
        setattr(spec, name, f"{remote_root}/{rel}" if rel else remote_root)
    return local


def local_dataset_meta(local: dict[str, str]) -> dict:
    """The run folder's record of the local dataset paths: ``local_dataset`` (the path, as
    runs before segmentation and detection wrote it) and ``local_dataset_fields`` for the
    other fields a run rewrote."""
    meta: dict = {"local_dataset": local.get("path", "")}
    others = {k: v for k, v in local.items() if k != "path"}
    if others:
        meta["local_dataset_fields"] = others
    return meta


def restore_dataset(dataset: dict, meta: dict) -> bool:
    """Put the local dataset paths of ``meta`` (a run folder's remote.json) back into a
    fetched snapshot's ``dataset`` (which names the host's copy); whether anything changed."""
    local = {}
    if isinstance(meta.get("local_dataset"), str) and meta["local_dataset"]:
        local["path"] = meta["local_dataset"]
    fields = meta.get("local_dataset_fields")
    if isinstance(fields, dict):
        local |= {k: v for k, v in fields.items()
                  if k in ("annotations", "labels", *SECOND_PATHS) and isinstance(v, str)}
    dataset.update(local)
    return bool(local)


class _DatasetWalk:
    """The files of a dataset folder, following only the links that stay inside it."""

    MAX_DEPTH = 32

    def __init__(self, root: Path, source: str) -> None:
        self.root, self.source = root, source
        self.real_root = Path(os.path.realpath(root))  # the root may itself be a link
        self.files: list[tuple[Path, str]] = []

    def run(self, parts: list[Path] | None = None) -> list[tuple[Path, str]]:
        """The files of the whole folder, or only of ``parts`` (files and folders in it,
        none under another) named as in the whole folder."""
        try:
            if parts is None:
                self.visit(self.root, PurePosixPath(self.root.name), [self.real_root])
            for part in parts or ():
                self.visit_part(part)
        except OSError as e:
            raise RemoteError(f"{self.source} dataset: "
                              f"{os_error_message(e, 'cannot read')}") from None
        return self.files

    def visit_part(self, part: Path) -> None:
        name = PurePosixPath(self.root.name, part.relative_to(self.root).as_posix())
        target = Path(os.path.realpath(part))
        if not target.is_relative_to(self.real_root):
            raise RemoteError(f"{self.source} dataset {self.root}: {part} leads through a "
                              f"symbolic link to {target}, outside the dataset folder; "
                              "LayerForge uploads only what is inside the dataset folder: "
                              "copy the data into it, or remove the link")
        if target.is_file():
            self.files.append((part, name.as_posix()))
            return
        stack, folder = [self.real_root], self.root
        for piece in part.relative_to(self.root).parts:
            folder = folder / piece
            stack.append(Path(os.path.realpath(folder)))
        self.visit(part, name, stack)

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
