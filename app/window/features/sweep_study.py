"""What the Sweep feature reads and writes besides the sweep itself, kept plain (no
widgets) so it runs on a job thread: where the document's sweep lives, a snapshot of its
study as the database holds it (so a reopened project shows its sweep and offers Resume),
the trials as the coordinator's events change them, parameter importance, and a trial's
values written into the project as one undo step."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.runs.records import project_folder, runs_folder
from engine.naming import make_identifier
from engine.project import Project
from engine.sweep.coordinator import SweepEvent, TrialEnded, TrialEpoch, TrialStarted
from engine.sweep.results import TrialRecord
from engine.sweep.space import SearchRange
from engine.sweep.study import Objective

if TYPE_CHECKING:
    from app.document import GraphDocument


def sweep_place(doc: GraphDocument) -> tuple[Path, Path]:
    """(the project file, its runs folder) the sweep uses. An untitled project's sweep
    lives in the per-user folder, where its ordinary runs go (app/runs/records.py)."""
    if doc.path:
        path = Path(doc.path).resolve()
    else:
        path = project_folder(doc) / f"{make_identifier(doc.project.name or 'untitled')}.lforge"
    return path, runs_folder(doc)


@dataclass
class Snapshot:
    """A study as its database holds it."""

    name: str
    storage: str
    objectives: list[Objective]
    trials: int
    space: dict[str, SearchRange]
    records: list[TrialRecord] = field(default_factory=list)

    @property
    def unfinished(self) -> bool:
        """Trials left running by a sweep that ended, or fewer trials than asked for."""
        return any(r.state == "running" for r in self.records) or \
            len(self.records) < self.trials


def read_study(project: Project, project_path: Path, runs: Path) -> Snapshot | None:
    """The project's study (its sweep settings name it), or None when there is none yet.
    Never creates a database: with the default SQLite storage, no file means no study."""
    import optuna

    from engine.sweep.config import study_name
    from engine.sweep.results import study_records
    from engine.sweep.space import SweepError, parse_spec
    from engine.sweep.study import CONFIG_ATTR, default_objective, open_storage, parse_objective

    try:
        name = study_name(project, project_path)
    except SweepError:
        return None  # the form says what is wrong with the name when a sweep starts
    url = project.sweep.storage
    if not url:
        db = runs / "sweeps" / f"{name}.db"
        if not db.is_file():
            return None
        url = f"sqlite:///{db.resolve()}"  # as engine.sweep.study.default_storage writes it
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        return None
    made = study.user_attrs.get(CONFIG_ATTR) or {}
    objectives = [parse_objective(t) for t in made.get("objectives", [])] or \
        [default_objective(project.task.kind)]
    trials = int(made.get("trials") or project.sweep.trials)
    space = {k: parse_spec(k, v) for k, v in (made.get("space") or {}).items()}
    return Snapshot(name, url, objectives, trials, space,
                    study_records(study, objectives, trials))


def fold_event(records: dict[int, TrialRecord], lanes: dict[int, str], ev: SweepEvent,
               metric: str) -> bool:
    """Apply one of the coordinator's events to ``records`` (by trial number) and
    ``lanes`` (the lane each trial runs on); ``metric``: the first objective's, which an
    epoch reports. True when a trial ended."""
    match ev:
        case TrialStarted(number=n, params=params, run_dir=run_dir, resumed=resumed):
            old = records.get(n)
            records[n] = TrialRecord(n, "running", dict(params), old.values if old else {},
                                     old.epochs if old else 0, 0.0, run_dir,
                                     "resumed from its checkpoint" if resumed else "")
            if getattr(ev, "lane", ""):
                lanes[n] = ev.lane
        case TrialEpoch(number=n, epoch=epoch, value=value):
            if (old := records.get(n)) is not None:
                values = dict(old.values)
                if value is not None:
                    values[metric] = value
                records[n] = dataclasses.replace(old, values=values, epochs=epoch)
        case TrialEnded(record=record):
            records[record.number] = record
            return True
    return False


def ended_status(records: list[TrialRecord], snap: Snapshot | None, stopped: bool,
                 events: int) -> str:
    """The Sweep dock's sentence once a sweep has ended (``events``: the trial events it
    sent; none means the study was full already)."""
    done = sum(r.state != "running" for r in records)
    total = snap.trials if snap else len(records)
    if stopped:
        return f"Stopped after {done} of {total} trials; Resume sweep finishes the study."
    if snap is not None and snap.unfinished:
        return (f"{done} of {total} trials ended; some are unfinished (Resume sweep "
                "finishes them).")
    if not events:
        return (f"The study {snap.name if snap else ''} already holds its {total} trials: "
                "set more trials or another study name to run more.")
    return f"Sweep done: {total} trials."


def importances(storage: str, name: str, n_objectives: int) -> dict[str, float]:
    """Optuna's parameter importance (fANOVA) over the study's completed trials, by the
    first objective; largest first."""
    import optuna

    from engine.sweep.study import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(storage))
    target = (lambda t: t.values[0]) if n_objectives > 1 else None
    found = optuna.importance.get_param_importances(study, target=target)
    return {k: float(v) for k, v in found.items() if math.isfinite(v)}


def apply_trial(doc: GraphDocument, number: int, params: dict[str, Any]) -> None:
    """Write a trial's values into the project: settings with ``set_field``, block fields
    with ``set_param``, all in one undo step. Raises EditError (or SweepError, for a key
    that names no field any more) with a sentence; then nothing is changed."""
    from engine.sweep.space import resolve_key

    targets = [(resolve_key(doc.project, key), value) for key, value in params.items()]
    stack = doc.undo_stack
    stack.beginMacro(f"Apply trial {number}")
    try:
        for t, value in targets:
            if t.is_setting:
                doc.set_field(t.section, t.name, value)
            else:
                doc.set_param(t.graph, t.node, t.name, value)
    except Exception:
        stack.endMacro()
        stack.undo()  # the part already applied goes back
        raise
    stack.endMacro()
