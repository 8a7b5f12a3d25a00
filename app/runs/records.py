"""Where runs live and how they are recorded in the project.

A run of a saved project goes to ``<project folder>/runs/<stem>-<timestamp>`` (as
``layerforge train`` does); a run of an untitled project goes to ``<config dir>/runs``.
A remote run has the same local folder: remote.json (where it lives), the mirrored
events.jsonl and, once it ends, the downloaded artifacts.
Each run is recorded as a ``RunRef`` in ``project.runs``. GraphDocument has no edit API
for runs yet, and undoing "a run happened" would be wrong anyway (the folder stays), so
the list is changed in place and the document is marked dirty (see docs/training-ui.md).
Save As carries the runs to the new file's folder (app/runs/carry.py); a run folder that is
not where it was recorded is looked for beside the file and in the per-user folder
(:func:`resolve_ref`, docs/decisions/0004-runs-follow-the-project.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.document import GraphDocument
from app.settings import config_dir
from engine.naming import make_identifier
from engine.project import ProjectError, RunRef, load_project
from engine.train.usage import USAGE, Usage, read_usage


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


def recorded_path(doc: GraphDocument, ref: RunRef) -> Path:
    """Where the project says a run folder is (relative paths against the project folder)."""
    p = Path(ref.path).expanduser()
    return p if p.is_absolute() else project_folder(doc) / p


def fallback_paths(doc: GraphDocument, ref: RunRef) -> list[Path]:
    """Where else a run folder that is not where it was recorded may be, in order: under
    ``runs/`` beside the project file (a project moved or copied with its runs folder, or
    opened on another computer), then in the per-user runs folder where unsaved projects'
    runs go (a project saved by a version that did not carry them along)."""
    name = Path(ref.path).name or ref.id
    places = [runs_folder(doc) / name, config_dir() / "runs" / name]
    if ref.id and ref.id != name:
        places += [runs_folder(doc) / ref.id, config_dir() / "runs" / ref.id]
    return places


def resolve_ref(doc: GraphDocument, ref: RunRef) -> Path:
    """The run folder of ``ref``: where it was recorded, or else the first of
    :func:`fallback_paths` that is a run folder; the recorded place when it is nowhere
    (the Runs list then shows it as missing, with that place)."""
    recorded = recorded_path(doc, ref)
    if recorded.is_dir():
        return recorded
    for p in fallback_paths(doc, ref):
        if (p / "project.lforge").is_file() or (p / "remote.json").is_file():
            return p
    return recorded


@dataclass(frozen=True)
class RunPlace:
    """A recorded run and where it is: ``found`` differs from ``recorded`` when the folder
    was found elsewhere, and is None when it is nowhere."""

    ref: RunRef
    recorded: Path
    found: Path | None


def locate_runs(doc: GraphDocument) -> list[RunPlace]:
    """Every recorded run whose folder is not where the project says (moved or missing)."""
    out = []
    for ref in doc.project.runs:
        recorded = recorded_path(doc, ref)
        if recorded.is_dir():
            continue
        found = resolve_ref(doc, ref)
        out.append(RunPlace(ref, recorded, found if found != recorded else None))
    return out


def describe_places(places: list[RunPlace]) -> str:
    """One sentence for the status bar about runs found elsewhere or missing ("" if none)."""
    moved = [p for p in places if p.found is not None]
    missing = [p for p in places if p.found is None]
    parts = []
    if moved:
        where = sorted({str(p.found.parent) for p in moved if p.found is not None})
        parts.append(f"{_runs(len(moved))} not where the project recorded "
                     f"{'it' if len(moved) == 1 else 'them'}, found in {', '.join(where)}")
    if missing:
        first = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        parts.append(f"{_runs(len(missing))} missing: {first.ref.id} was expected at "
                     f"{first.recorded}{more}")
    return "; ".join(parts)


def _runs(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"


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


#: usage.json records read so far, by folder, with the file's (mtime, size) when read
_usages: dict[str, tuple[tuple[int, int] | None, Usage | None]] = {}


def run_usage(run_dir: str | Path) -> Usage | None:
    """What a run cost (its usage.json as an engine.train.usage.Usage), or None when it has
    no record (an older run, a remote run whose files are not downloaded yet). Read again
    only when the file changed, so refreshing the Runs list stays cheap."""
    path = Path(run_dir) / USAGE
    try:
        st = path.stat()
        stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    known = _usages.get(str(path))
    if known is None or known[0] != stamp:
        known = (stamp, read_usage(run_dir) if stamp is not None else None)
        _usages[str(path)] = known
    return known[1]
