"""Sweeps: many training runs of one project over search ranges, chosen by Optuna.

- :mod:`engine.sweep.space` parses ``KEY=SPEC`` search ranges (``training.lr=float:1e-4..1e-1:log``,
  ``fc1.out_features=int:16..256:16``, ``act.kind=choice:relu,gelu``), checks them against
  the project (the setting or block field exists, its range fits the field) and applies one
  sampled point to a copy of the project;
- :mod:`engine.sweep.study` holds the objectives (a validation metric, optionally the
  parameter count or FLOPs as a second one), the samplers and pruners, and opens the Optuna
  study in its database (SQLite in the project's runs folder by default, any SQLAlchemy URL);
- :mod:`engine.sweep.coordinator` runs the sweep: it asks Optuna for trials, refuses points
  that shape inference finds infeasible, trains every other one as an ordinary run folder on
  local worker processes, reports each epoch's metric so Optuna can prune, and tells the
  result. It keeps exactly N trials even with several coordinators on one study, and resumes
  the trials a killed coordinator left running from their checkpoints.

- :mod:`engine.sweep.config` turns a project's sweep settings (``Project.sweep``: its
  ranges, objectives, sampler, pruner, trials, workers, seed, name, storage) into a
  :class:`~engine.sweep.coordinator.SweepConfig` with the defaults resolved.

What the app needs to run the project's sweep (``layerforge sweep FILE`` does the same)::

    from engine.sweep import config_from_project, coordinator_from_project

    config = config_from_project(project, path)         # to show what will run
    coord = coordinator_from_project(project, path, listener=on_event, resume=False)
    threading.Thread(target=coord.run).start()          # blocking; stop() from any thread
    # on_event gets TrialStarted / TrialEpoch / TrialEnded (engine.sweep.coordinator) from
    # the coordinator's threads; TrialEnded.record is a results.TrialRecord.

``coordinator_from_project`` copies the project (the app's document is never changed),
makes its data paths absolute and refuses a project with errors, with a UserError whose
sentence says what to fix. ``engine.sweep.results.study_records(coord.study, ...)`` lists
every trial of an open study; ``engine.sweep.study.stored_config(config.storage,
config.name)`` is not None when a study exists to resume (offer "Resume sweep" when it has
trials left). ``engine.sweep.space.range_problems(project)`` lists saved ranges whose key
names no field (engine.shapes.project_problems includes them as warnings).

Everything here is plain Python without Qt; torch runs only in the worker processes. The
command line is :mod:`engine.cli.sweep_cmds`; docs/sweeps.md is the user's page.
"""

from typing import Any

#: what ``from engine.sweep import NAME`` offers, loaded on first use (engine.project and
#: engine.shapes import engine.sweep.space, which must not pull the coordinator in)
_LAZY = {"config_from_project": "engine.sweep.config",
         "coordinator_from_project": "engine.sweep.config",
         "prepare_project": "engine.sweep.config",
         "runs_folder_of": "engine.sweep.config",
         "study_name": "engine.sweep.config",
         "Coordinator": "engine.sweep.coordinator",
         "SweepConfig": "engine.sweep.coordinator",
         "range_problems": "engine.sweep.space"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.sweep' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
