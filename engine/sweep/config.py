"""A sweep's configuration from a project's sweep settings (``Project.sweep``), with the
defaults resolved and, optionally, a few settings overridden (the command line's flags).

The app and ``layerforge sweep FILE`` both start here, so a sweep made in one is the same
study, in the same database, as in the other:

- :func:`config_from_project` -> :class:`~engine.sweep.coordinator.SweepConfig`;
- :func:`coordinator_from_project` -> a ready :class:`~engine.sweep.coordinator.Coordinator`
  (the project copied, its data paths made absolute, refused when it has errors or does not
  fit its data);
- :func:`engine.sweep.space.range_problems`: the project's saved ranges whose key names no
  field, as problems for the shape analysis and ``layerforge validate``.

Defaults: the study's name is the project file's name without ``.lforge``; its database is
SQLite in the project's runs folder (``runs/sweeps/NAME.db``); objectives, sampler and pruner
are the task's (val_accuracy:max for classification, else val_loss:min; TPE and the median
pruner with one objective, NSGA-II and no pruner with two). Trials train on ``workers``
local lanes and on each of the project's ``sweep.hosts`` (configured SSH hosts, one trial at
a time each; :func:`parse_workers` reads the command line's ``local:N,remote:HOST``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.project import Project
from engine.sweep.coordinator import Coordinator, SweepConfig, SweepEvent
from engine.sweep.space import SearchRange, SweepError, parse_param, parse_spec
from engine.sweep.study import (
    check_objectives,
    default_objective,
    default_pruner,
    default_sampler,
    default_storage,
    grid_size,
    parse_objective,
    stored_config,
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def runs_folder_of(project_path: str | Path) -> Path:
    """The project's runs folder: ``runs`` beside the project file."""
    return Path(project_path).expanduser().resolve().parent / "runs"


def study_name(project: Project, project_path: str | Path, name: str | None = None) -> str:
    """``name``, else the project's ``sweep.name``, else the project file's name; checked,
    since it names a folder of the runs folder."""
    chosen = name or project.sweep.name or Path(project_path).stem
    if not _NAME.fullmatch(chosen) or ".." in chosen:
        raise SweepError(f"sweep name {chosen!r}: use letters, digits, '-', '_' and '.' "
                         "(it names a folder of the runs folder); set another name")
    return chosen


def study_kept(project: Project, old_path: str | Path, new_path: str | Path
               ) -> tuple[str, str] | None:
    """The ``sweep.name`` and ``sweep.storage`` that keep ``project``'s study when its file
    moves from ``old_path`` to ``new_path`` (Save As): its study lives in the default place
    (SQLite in the runs folder, named after the file), exists, and the new path would name
    another one. None when nothing would be lost. The trials keep their folders (the study
    records them by absolute path); new trials go beside the new file."""
    from engine.sweep.study import default_storage

    if project.sweep.storage:
        return None
    try:
        old_name = study_name(project, old_path)
        new_name = study_name(project, new_path)
    except SweepError:
        return None
    old_runs = runs_folder_of(old_path)
    if (old_runs, old_name) == (runs_folder_of(new_path), new_name):
        return None
    if not (old_runs / "sweeps" / f"{old_name}.db").is_file():
        return None
    return old_name, default_storage(old_runs, old_name, make=False)


def config_from_project(
    project: Project,
    project_path: str | Path,
    *,
    params: Sequence[str] = (),
    objectives: Sequence[str] = (),
    trials: int | None = None,
    sampler: str | None = None,
    pruner: str | None = None,
    workers: int | None = None,
    hosts: Sequence[str] | None = None,
    seed: int | None = None,
    name: str | None = None,
    storage: str | None = None,
    resume: bool = False,
    runs_folder: str | Path | None = None,
) -> SweepConfig:
    """The sweep the project's settings describe. Every keyword left None (or empty) takes
    the project's value, then the default; ``params`` (``KEY=SPEC`` texts) add to the
    project's ranges or replace the range of the same key. ``workers`` is the number of
    local lanes (0 only with ``hosts``); ``hosts`` the configured SSH hosts that each run
    trials too (None: the project's ``sweep.hosts``; each must be configured).

    With ``resume`` and a study that exists, what the study was made with (ranges,
    objectives, trials, sampler, pruner, seed) wins over the project's settings, so that
    editing the project after a sweep does not stop it from being resumed; explicit
    ``params``/``objectives`` are still checked against the study when it opens.

    Raises :class:`~engine.sweep.space.SweepError` (a UserError) naming what is wrong.
    Whether each key names a real field is checked by the Coordinator
    (:func:`engine.sweep.space.check_space`)."""
    spec = project.sweep
    runs = Path(runs_folder) if runs_folder is not None else runs_folder_of(project_path)
    study = study_name(project, project_path, name)
    url = storage or spec.storage or default_storage(runs, study, make=False)
    stored = stored_config(url, study) if resume else None
    if resume and stored is None:
        raise SweepError(f"resume: there is no study {study!r} to resume in its database "
                         "(check the sweep's name and storage)")
    space = _space(spec.ranges, params, (stored or {}).get("space") if stored else None)
    if not space:
        raise SweepError("the sweep has no search range: give at least one --param KEY=SPEC "
                         "(e.g. --param training.lr=float:1e-4..1e-1:log), or mark a search "
                         "range on a setting or block field in the project")
    old = stored or {}
    objective_texts = list(objectives) or (list(old.get("objectives", [])) if stored
                                           else list(spec.objectives))
    goals = [parse_objective(o) for o in objective_texts] or \
        [default_objective(project.task.kind)]
    check_objectives(goals)
    n = trials if trials is not None else old.get("trials", spec.trials)
    if not 1 <= int(n) <= 100_000:
        raise SweepError(f"trials {n}: use 1 to 100,000")
    chosen_sampler = sampler or old.get("sampler") or spec.sampler or default_sampler(len(goals))
    chosen_pruner = pruner or old.get("pruner") or spec.pruner or default_pruner(len(goals))
    if chosen_sampler == "grid" and n > grid_size(space):
        raise SweepError(f"trials {n}: the grid has only {grid_size(space)} points; use that "
                         "many trials or fewer")
    w = workers if workers is not None else spec.workers
    remote = check_hosts(list(spec.hosts) if hosts is None else list(hosts))
    if not (0 if remote else 1) <= w <= 64:
        raise SweepError(f"workers {w}: use 1 to 64" + ("" if w else
                         " (0 local workers only with a remote host: local:0,remote:HOST)"))
    s = seed if seed is not None else old.get("seed", spec.seed)
    return SweepConfig(name=study, trials=int(n), space=space, objectives=goals, storage=url,
                       runs_folder=runs, sampler=chosen_sampler, pruner=chosen_pruner,
                       workers=w, hosts=tuple(remote), seed=s, resume=resume)


def parse_workers(text: str) -> tuple[int | None, list[str]]:
    """``--workers``: ``N`` (local workers), or ``local:N,remote:HOST[,remote:HOST2...]``;
    (local workers, None where not given, and the remote hosts in order). Raises
    :class:`SweepError` naming the part that is wrong."""
    text = text.strip()
    if text.isdigit():
        return int(text), []
    local: int | None = None
    hosts: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        kind, _, value = part.partition(":")
        if kind == "local" and value.strip().isdigit() and local is None:
            local = int(value)
        elif kind == "remote" and value.strip() and value.strip() not in hosts:
            hosts.append(value.strip())
        else:
            why = ("local is given twice" if kind == "local" and local is not None else
                   f"{value.strip()!r} is named twice" if kind == "remote" and value.strip()
                   else f"{part!r} is neither local:N nor remote:HOST")
            raise SweepError(f"--workers {text}: {why}; give N, or local:N,remote:HOST "
                             "(e.g. local:2,remote:gpu1)")
    return local, hosts


def check_hosts(hosts: list[str]) -> list[str]:
    """``hosts`` when each is a configured SSH host; else a SweepError naming the unknown
    one and the configured ones."""
    if not hosts:
        return hosts
    from engine.project import ProjectError
    from engine.remote.config import load_hosts

    try:
        known = load_hosts()
    except ProjectError as e:
        raise SweepError(f"the sweep's remote hosts cannot be checked: {e}") from None
    for name in hosts:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none yet"
            raise SweepError(f"remote host {name!r} is not configured (configured: {listed}); "
                             "add it with `layerforge remote add NAME --host HOST`, or remove "
                             "it from the sweep's hosts")
    return hosts


def _space(ranges: dict[str, str], params: Sequence[str],
           stored: dict[str, str] | None) -> dict[str, SearchRange]:
    """The project's ranges (or, resuming, the study's), then ``params`` over them."""
    base = stored if stored is not None and not params else ranges
    space = {key: parse_spec(key, text) for key, text in base.items()}
    for text in params:
        key, rng = parse_param(text)
        space[key] = rng
    return space


def prepare_project(project: Project, project_path: str | Path) -> Project:
    """A copy of ``project`` ready to sweep: data paths absolute (they are relative to the
    project file); refused, with one line per problem, when it has errors or its model
    does not fit its data."""
    from engine.train.prepare import absolute_data, refuse_untrainable

    project = project.model_copy(deep=True)
    absolute_data(project, Path(project_path).expanduser().resolve().parent)
    refuse_untrainable(project)
    return project


def coordinator_from_project(project: Project, project_path: str | Path,
                             listener: Callable[[SweepEvent], None] | None = None,
                             **overrides: Any) -> Coordinator:
    """A Coordinator for the project's sweep (``overrides`` as :func:`config_from_project`
    takes them, e.g. ``resume=True``). Call ``run()`` on a background thread and ``stop()``
    to end it; its listener is called from the coordinator's threads."""
    ready = prepare_project(project, project_path)
    config = config_from_project(ready, project_path, **overrides)
    return Coordinator(ready, config, listener)
