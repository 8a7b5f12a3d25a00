"""Save As carries the project's runs along (docs/decisions/0004-runs-follow-the-project.md).

A run is recorded in the project as a path relative to the project folder (``runs/<id>``),
or to the per-user folder while the project is unsaved. When the project file goes to
another folder, each recorded run folder goes to ``runs/`` beside the new file:

- the runs of an unsaved project are *moved* (they were parked in the per-user folder only
  until the project had a home);
- the runs of a project saved elsewhere are *copied*, so the old project keeps its own;
- a run that is being written (its folder's lock is held, or the caller names it live) is
  left where it is and recorded there by its absolute path, as is a run whose move or
  copy fails; a run folder that is missing is recorded by the absolute path where it was
  expected.

:func:`carry_runs` does the file work and returns a :class:`Carried` with the new records,
a sentence for the user, and :meth:`Carried.undo` for a save that then fails. Nothing here
touches a widget.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.document import GraphDocument
from app.runs.records import project_folder, resolve_ref
from engine.errors import os_reason
from engine.project import ProjectError, RunRef, load_project, save_project
from engine.train import runlock

#: the name a project has until it is named (engine.project.Project's default)
DEFAULT_NAME = "untitled"


@dataclass
class Carried:
    """What :func:`carry_runs` did. ``runs``: the records for the new project file."""

    runs: list[RunRef]
    target: Path
    moved: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    #: (run id, where it stays, why)
    left: list[tuple[str, Path, str]] = field(default_factory=list)
    missing: list[tuple[str, Path]] = field(default_factory=list)
    _undo: list[tuple[str, Path, Path]] = field(default_factory=list)  # (how, from, to)

    @property
    def changed(self) -> bool:
        return bool(self.moved or self.copied or self.left or self.missing)

    def message(self) -> str:
        """One sentence for the status bar ("" when no run was concerned)."""
        parts = []
        if self.moved:
            parts.append(f"Moved {_runs(len(self.moved))} to {self.target}")
        if self.copied:
            parts.append(f"Copied {_runs(len(self.copied))} to {self.target} (the old project "
                         "keeps its own)")
        for run_id, where, why in self.left:
            parts.append(f"{run_id} stays in {where.parent}, recorded there ({why})")
        if self.missing:
            run_id, where = self.missing[0]
            more = f" and {len(self.missing) - 1} more" if len(self.missing) > 1 else ""
            parts.append(f"{run_id}{more} not found (expected at {where})")
        return "; ".join(parts)

    def undo(self) -> None:
        """Put the folders back (the save failed): moved ones return, copies are removed."""
        for how, src, dst in reversed(self._undo):
            try:
                if how == "move":
                    shutil.move(str(dst), str(src))
                else:
                    shutil.rmtree(dst, ignore_errors=True)
            except OSError:
                pass  # the folder stays where it is; resolve_ref's fallbacks still find it
        self._undo.clear()


def carry_runs(doc: GraphDocument, new_path: str | Path, *, live: Iterable[str] = (),
               name: str | None = None) -> Carried:
    """Move (unsaved project) or copy (saved elsewhere) every recorded run folder of ``doc``
    into ``runs/`` beside ``new_path``; see the module docstring. ``live``: run folders
    being trained now, never moved. ``name``: the project's new name, written into the
    snapshot of each moved run that has the project's name so far (the model card of an
    export of that run is titled with it). Does not change the document."""
    new_folder = Path(new_path).expanduser().resolve().parent
    target = new_folder / "runs"
    out = Carried([], target)
    if new_folder == project_folder(doc):
        out.runs = list(doc.project.runs)
        return out
    move = doc.path is None
    busy = {Path(p).resolve() for p in live}
    for ref in doc.project.runs:
        old = resolve_ref(doc, ref).resolve()
        if old.parent == target:  # already in runs/ beside the new file
            out.runs.append(ref.model_copy(update={"path": f"runs/{old.name}"}))
            continue
        if old in busy:
            out.left.append((ref.id, old, "it is training"))
            out.runs.append(ref.model_copy(update={"path": str(old)}))
            continue
        if not old.is_dir():
            out.missing.append((ref.id, old))
            out.runs.append(ref.model_copy(update={"path": str(old)}))
            continue
        dst, why = _carry_one(old, target, move)
        if dst is None:
            out.left.append((ref.id, old, why))
            out.runs.append(ref.model_copy(update={"path": str(old)}))
            continue
        out._undo.append(("move" if move else "copy", old, dst))
        (out.moved if move else out.copied).append(ref.id)
        out.runs.append(ref.model_copy(update={"id": dst.name, "path": f"runs/{dst.name}"}))
        if move and name:
            _rename_snapshot(dst, doc.project.name, name)
    return out


def _carry_one(old: Path, target: Path, move: bool) -> tuple[Path | None, str]:
    """Move or copy one run folder into ``target`` while holding its lock (so no worker
    writes it meanwhile); (the new folder, "") or (None, why not)."""
    try:
        key = runlock.acquire(old, "LayerForge (Save As)")
    except runlock.RunBusy:
        return None, "a training process is writing it"
    except runlock.RunLockError:
        key = None  # a read-only folder cannot be locked, nor written by a worker
    dst = _free_name(target / old.name)
    try:
        target.mkdir(parents=True, exist_ok=True)
        if move:
            shutil.move(str(old), str(dst))
        else:
            shutil.copytree(old, dst, ignore=shutil.ignore_patterns(runlock.LOCK_FILE))
    except OSError as e:
        if not move:
            shutil.rmtree(dst, ignore_errors=True)  # no half copy left behind
        return None, f"could not {'move' if move else 'copy'} it: {os_reason(e)}"
    finally:
        if key is not None:
            runlock.release(key)
    return dst, ""


def _rename_snapshot(run_dir: Path, old: str, name: str) -> None:
    snapshot = run_dir / "project.lforge"
    try:
        project = load_project(snapshot)
        if project.name in (old, DEFAULT_NAME):
            project.name = name
            save_project(project, snapshot)
    except (ProjectError, OSError):
        pass  # a snapshot that cannot be read or written keeps its name; the run is intact


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _runs(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"
