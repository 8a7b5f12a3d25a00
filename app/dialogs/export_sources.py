"""The runs the Export dialog offers as sources, newest first, and which one it picks.

The list is the Runs panel's (``known_run_dirs``): the runs recorded in the project and the
run folders of this project found on disk (a run of a project that was not saved
afterwards). The default is the newest run that finished with its weights, since trained
weights are what one exports.
"""

from __future__ import annotations

from pathlib import Path

from app.document import GraphDocument


def _started(run_dir: Path) -> float:
    """When a run began: its project snapshot is written first."""
    for path in (run_dir / "project.lforge", run_dir):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def finished_with_weights(run_dir: Path) -> bool:
    """Whether a run folder holds the trained weights of a run that finished (a failed or
    stopped run, or a remote one not yet downloaded, does not)."""
    from app.runs.history import summarize
    from engine.train.rundir import WEIGHTS

    return (run_dir / WEIGHTS).is_file() and summarize(run_dir).status == "finished"


def run_sources(document: GraphDocument) -> list[tuple[str, Path]]:
    """(label, run folder) for each run of ``document``'s project, newest first."""
    from app.runs.records import known_run_dirs, resolve_ref

    refs = {resolve_ref(document, r).resolve(): r for r in document.project.runs}
    found = [p for p in known_run_dirs(document) if p.is_dir()]
    sources = []
    for path in sorted(found, key=_started, reverse=True):
        run = refs.get(path)
        if run is not None:
            when = f", {run.started}" if run.started else ""
            sources.append((f"Run {run.id} ({run.host}{when})", path))
        else:
            sources.append((f"Run {path.name} (found on disk)", path))
    return sources
