"""Where runs live and how they are recorded in the project.

A run of a saved project goes to ``<project folder>/runs/<stem>-<timestamp>`` (as
``layerforge train`` does); a run of an untitled project goes to ``<config dir>/runs``.
A remote run has the same local folder: remote.json (where it lives), the mirrored
events.jsonl and, once it ends, the downloaded artifacts.
Each run is recorded as a ``RunRef`` in ``project.runs``. GraphDocument has no edit API
for runs yet, and undoing "a run happened" would be wrong anyway (the folder stays), so
the list is changed in place and the document is marked dirty (see docs/training-ui.md).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app.document import GraphDocument
from app.settings import config_dir
from engine.naming import make_identifier
from engine.project import ProjectError, RunRef, load_project


def project_folder(doc: GraphDocument) -> Path:
    """The folder a run's relative paths are resolved against."""
    return Path(doc.path).resolve().parent if doc.path else config_dir()


def runs_folder(doc: GraphDocument) -> Path:
    return project_folder(doc) / "runs"


def new_run_dir(doc: GraphDocument) -> Path:
    """A fresh run folder name (not created): ``<stem>-<YYYYmmdd-HHMMSS>`` made unique."""
    stem = Path(doc.path).stem if doc.path else make_identifier(doc.project.name or "untitled")
    base = runs_folder(doc) / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def project_data(doc: GraphDocument) -> dict[str, Any]:
    """The project as it is now (unsaved edits included), dataset paths made absolute."""
    data = doc.project.model_dump(mode="json")
    data["runs"] = []  # history does not travel with the job
    ds = data.get("dataset", {})
    path = ds.get("path") or ""
    if path and not Path(path).expanduser().is_absolute():
        ds["path"] = str((project_folder(doc) / path).resolve())
    return data


def new_run(doc: GraphDocument) -> tuple[str, dict[str, Any]]:
    """A new run of the document's project as it is now: (its fresh run folder, the project
    as JSON data)."""
    return str(new_run_dir(doc)), project_data(doc)


def remote_host(run_dir: str | Path) -> str | None:
    """The host a run folder's run lives on (its remote.json), or None for a local run."""
    import json

    meta = Path(run_dir) / "remote.json"
    try:
        return str(json.loads(meta.read_text(encoding="utf-8"))["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resume_project(run_dir: str | Path) -> dict[str, Any]:
    """The project a stopped or killed run continues with: its own snapshot (JSON data);
    ProjectError when the folder is not a run folder."""
    folder = Path(run_dir)
    if not (folder / "project.lforge").is_file():
        raise ProjectError(f"{folder}: not a run folder (no project.lforge in it)")
    return load_project(folder / "project.lforge").model_dump(mode="json")


def ref_path(doc: GraphDocument, run_dir: str | Path) -> str:
    """How a run folder is stored: relative to the project folder when inside it."""
    p = Path(run_dir).resolve()
    try:
        return p.relative_to(project_folder(doc)).as_posix()
    except ValueError:
        return str(p)


def resolve_ref(doc: GraphDocument, ref: RunRef) -> Path:
    p = Path(ref.path).expanduser()
    return p if p.is_absolute() else project_folder(doc) / p


def add_run_ref(doc: GraphDocument, run_dir: str | Path, host: str = "local") -> RunRef | None:
    """Record a run in the project (once); marks the document dirty."""
    stored = ref_path(doc, run_dir)
    if any(r.path == stored for r in doc.project.runs):
        return None
    ref = RunRef(id=Path(run_dir).name, path=stored, host=host,
                 started=time.strftime("%Y-%m-%dT%H:%M:%S"))
    doc.set_runs([*doc.project.runs, ref])
    return ref


def remove_run_ref(doc: GraphDocument, run_dir: str | Path) -> bool:
    target = Path(run_dir).resolve()
    keep = [r for r in doc.project.runs if resolve_ref(doc, r).resolve() != target]
    if len(keep) == len(doc.project.runs):
        return False
    doc.set_runs(keep)
    return True


def known_run_dirs(doc: GraphDocument) -> list[Path]:
    """Every run of the project: its RunRefs, then run folders of this project found on
    disk (so a run survives even when the project was not saved after it; a remote run's
    folder holds remote.json before its snapshot is downloaded)."""
    seen: dict[Path, None] = {}
    for ref in doc.project.runs:
        seen.setdefault(resolve_ref(doc, ref).resolve(), None)
    folder = runs_folder(doc)
    stem = Path(doc.path).stem if doc.path else make_identifier(doc.project.name or "untitled")
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.is_dir() and p.name.startswith(f"{stem}-") and (
                    (p / "project.lforge").is_file() or (p / "remote.json").is_file()):
                seen.setdefault(p.resolve(), None)
    return list(seen)
