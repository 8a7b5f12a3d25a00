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

Everything here is plain Python without Qt; torch runs only in the worker processes. The
command line is :mod:`engine.cli.sweep_cmds`; docs/sweeps.md is the user's page.
"""
