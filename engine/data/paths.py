"""Where a dataset's second paths point: ``dataset.target_path`` (the target side of aligned
pairs, a speech set's transcripts) and ``dataset.noise_path`` (background noise) may be
relative, and are then read from beside the data, the folder of ``dataset.path`` (the folder
itself, or the file's folder), as annotations and labels files are for images. So a data
folder moves, or is uploaded to a host, with all it names."""

from __future__ import annotations

from pathlib import Path

from engine.project import DatasetSpec


def data_folder(spec: DatasetSpec) -> Path:
    """The folder the data lives in: ``dataset.path`` when it is a folder, else its folder."""
    path = Path(spec.path).expanduser()
    return path if path.is_dir() else path.parent


def beside(spec: DatasetSpec, value: str) -> Path:
    """``value`` (a path field of ``spec``) as a path: absolute ones as they are, relative
    ones from :func:`data_folder`."""
    path = Path(value.strip()).expanduser()
    return path if path.is_absolute() else data_folder(spec) / path
