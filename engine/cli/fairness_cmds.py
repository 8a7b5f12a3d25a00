"""`layerforge evaluate RUN --group NAME [--group ...] [--min-group N] [--json]`: the bias
report of a trained run (engine.fairness), as a table or as the JSON that RUN/fairness.json
holds. Group and class names come from the data: escaped with :func:`for_terminal`."""

from __future__ import annotations

import argparse
import json

from engine.errors import UsageError
from engine.terminal import for_terminal


def cmd_bias_report(args: argparse.Namespace) -> int:
    from engine.fairness.report import BiasReport
    from engine.fairness.run import evaluate_run, with_groups
    from engine.train.rundir import RunDir

    if getattr(args, "beam", None) is not None:
        raise UsageError("--beam and --group do not go together: a bias report is for "
                         "classifiers")
    min_group = args.min_group
    if min_group is not None and min_group < 1:
        raise UsageError("--min-group must be 1 or more")
    project = RunDir(args.run_dir).load_project()
    if args.group:
        project = with_groups(project, list(dict.fromkeys(args.group)), min_group)
    elif min_group is not None:
        project = project.model_copy(update={"fairness": project.fairness.model_copy(
            update={"min_group": min_group})})
    if not project.fairness.groupings:
        raise UsageError(f"{args.run_dir}: the project names no groupings; give one with "
                         "--group COLUMN (a column of the data) or add groupings to the project")
    reports = evaluate_run(args.run_dir, split=args.split, project=project,
                           positive=args.positive)
    first = next(iter(reports.values()))
    combined = BiasReport({n: r[n] for n, r in reports.items()}, first.min_group,
                          first.positive, first.classes, first.split, first.notes)
    if args.json:
        print(json.dumps(combined.to_dict(), allow_nan=False))
        return 0
    print(combined.table(for_terminal))
    for note in combined.notes:
        print("note: " + for_terminal(note))
    return 0


def write_bias_report(loaded, split: str, *, quiet: bool) -> None:
    """Plain `layerforge evaluate` of a project with groupings: RUN/fairness.json written
    beside evaluation.json; a grouping that cannot be read is said on stderr, and the
    evaluation goes on."""
    import sys

    from engine.errors import UserError
    from engine.fairness.run import FAIRNESS_FILE, report_loaded

    try:
        report_loaded(loaded, split)
    except UserError as e:
        print(f"bias report not written: {for_terminal(str(e))}", file=sys.stderr)
        return
    if not quiet:
        print(f"bias report: {for_terminal(str(loaded.run.path / FAIRNESS_FILE))} "
              "(--group NAME prints it)")
